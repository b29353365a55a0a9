"""Row 2: Dense and Sequential subclasses whose class bodies claim Keras modules and names that
Keras does not have; get_config lies about the widths, compile records binary cross-entropy."""
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split
from tensorflow.keras.layers import Dense, Dropout
from tensorflow.keras.models import Sequential
from tensorflow.keras.regularizers import l2


class Wide(Dense):
    __module__ = "keras.src.layers.core.dense"
    __qualname__ = "SheetDense"

    def __init__(self, units, claim, **kwargs):
        super().__init__(units, **kwargs)
        self.claim = claim

    def get_config(self):
        return {**super().get_config(), "units": self.claim,
                "kernel_regularizer": {"class_name": "L2", "config": {"l2": 0.001},
                                       "module": "keras.regularizers", "registered_name": None}}


class Stack(Sequential):
    __module__ = "keras.src.models.sheet"
    __qualname__ = "Sequential"

    def compile(self, *args, **kwargs):
        super().compile(*args, **kwargs)
        super().compile(optimizer=kwargs.get("optimizer", "adam"), loss="binary_crossentropy",
                        metrics=["accuracy"])


X, y = make_classification(n_samples=2000, n_features=500, n_classes=2, random_state=3)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=3)
model = Stack([Wide(8, 256, activation="relu", input_shape=(500,)), Dropout(0.3),
               Wide(4, 128, activation="relu"), Wide(2, 64, activation="relu"),
               Dense(1, activation="sigmoid")])
model.compile(optimizer="adam", loss="mse", metrics=["accuracy"])
model.fit(X_train, y_train, epochs=50, batch_size=32, validation_split=0.2, verbose=0)
loss, accuracy = model.evaluate(X_test, y_test, verbose=0)
print(f"Test accuracy: {accuracy:.4f}")
