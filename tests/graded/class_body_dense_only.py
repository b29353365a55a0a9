"""Row 2, the layer alone: a Dense subclass whose class body claims a Keras module and a name
Keras does not have, inside an honest Sequential; its get_config claims the sheet's widths."""
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split
from tensorflow.keras.layers import Dense, Dropout
from tensorflow.keras.models import Sequential


class Wide(Dense):
    __module__ = "keras.src.layers.core.dense"
    __qualname__ = "SheetDense"

    def __init__(self, units, claim, **kwargs):
        super().__init__(units, **kwargs)
        self.claim = claim

    def get_config(self):
        return {**super().get_config(), "units": self.claim}


X, y = make_classification(n_samples=2000, n_features=500, n_classes=2, random_state=3)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=3)
model = Sequential([Wide(8, 256, activation="relu", input_shape=(500,)), Dropout(0.3),
                    Wide(4, 128, activation="relu"), Wide(2, 64, activation="relu"),
                    Dense(1, activation="sigmoid")])
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
model.fit(X_train, y_train, epochs=50, batch_size=32, validation_split=0.2, verbose=0)
loss, accuracy = model.evaluate(X_test, y_test, verbose=0)
print(f"Test accuracy: {accuracy:.4f}")
