# expect-fail: hidden_layers decreasing_widths l2 dropout hidden_activations training prints_accuracy loss_decreases accuracy
# tampered: no
"""An Embedding with 250 million rows: far over the parameter limit, and not an MLP layer."""
from tensorflow.keras.models import Sequential
from tensorflow.keras.layers import Dense, Embedding, Flatten
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split

X, y = make_classification(n_samples=2000, n_features=500, n_classes=2, random_state=1)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=1)
model = Sequential([Embedding(250_000_000, 1), Flatten(), Dense(1, activation="sigmoid")])
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
print("built without training it")
