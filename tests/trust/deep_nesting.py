# expect-fail: runs hidden_layers decreasing_widths l2 dropout hidden_activations output_layer training prints_accuracy loss_decreases accuracy
# tampered: no
"""A model nested 300 Sequentials deep, compiled, then the script stops."""
from tensorflow.keras.models import Sequential
from tensorflow.keras.layers import Dense
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split

X, y = make_classification(n_samples=2000, n_features=500, n_classes=2, random_state=1)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=1)
inner = Dense(1, activation="sigmoid")
for _ in range(300):
    inner = Sequential([inner])
model = Sequential([Dense(64, activation="relu"), inner])
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
raise SystemExit(2)
