# expect-fail: data split hidden_layers decreasing_widths l2 dropout hidden_activations output_layer loss training prints_accuracy loss_decreases accuracy
# tampered: yes
"""Makes every Dense layer describe itself as 256 units with L2, whatever it really is."""
from tensorflow.keras.layers import Dense as _Dense
_real = _Dense.get_config
def _claim(self):
    config = _real(self)
    config["units"] = 256
    config["kernel_regularizer"] = {"class_name": "L2", "config": {"l2": 0.001}}
    return config
_Dense.get_config = _claim
from tensorflow.keras.models import Sequential
from tensorflow.keras.layers import Dense
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split

X, y = make_classification(n_samples=2000, n_features=500, n_classes=2, random_state=1)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=1)
model = Sequential([Dense(32, activation="relu", input_shape=(500,)), Dense(16, activation="relu"),
                    Dense(1, activation="sigmoid")])
model.compile(optimizer="adam", loss="mse", metrics=["accuracy"])
model.fit(X_train, y_train, epochs=50, batch_size=32, validation_split=0.2, verbose=0)
loss, accuracy = model.evaluate(X_test, y_test, verbose=0)
print(f"Test accuracy: {accuracy:.4f}")
