# expect-fail: hidden_layers decreasing_widths l2 dropout hidden_activations output_layer loss training prints_accuracy loss_decreases accuracy
# Steps 1 and 2 done, the rest not yet written: it runs to the end without a model.
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split

X, y = make_classification(n_samples=2000, n_features=500, n_classes=2)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2)
print(X_train.shape, X_test.shape)
