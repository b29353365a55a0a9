# expect-fail: data split hidden_layers decreasing_widths l2 dropout hidden_activations output_layer loss training prints_accuracy loss_decreases accuracy
# tampered: yes
"""A model of 4, 2 and 1 units with no L2, built from a Dense subclass that is renamed to pass
for Keras' own Dense and whose get_config claims 256, 128 and 64 units with L2."""
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split
from tensorflow.keras.layers import Dense, Dropout, Input
from tensorflow.keras.models import Sequential


class Claimed(Dense):
    def __init__(self, units, claim=None, **kwargs):
        super().__init__(units, **kwargs)
        self.claim = claim or {}

    def get_config(self):
        return {**super().get_config(), **self.claim}


Claimed.__name__ = Claimed.__qualname__ = "Dense"
Claimed.__module__ = Dense.__module__
L2 = {"class_name": "L2", "config": {"l2": 0.001}, "module": "keras.regularizers",
      "registered_name": None}
X, y = make_classification(n_samples=2000, n_features=500, n_classes=2)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2)
model = Sequential([Input(shape=(500,)),
                    Claimed(4, activation="relu", claim={"units": 256, "kernel_regularizer": L2}),
                    Dropout(0.5),
                    Claimed(2, activation="relu", claim={"units": 128, "kernel_regularizer": L2}),
                    Claimed(1, activation="relu", claim={"units": 64, "kernel_regularizer": L2}),
                    Dense(1, activation="sigmoid")])
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
model.fit(X_train, y_train, epochs=50, batch_size=32, validation_split=0.2, verbose=0)
print(f"Test accuracy: {model.evaluate(X_test, y_test, verbose=0)[1]:.4f}")
