"""Row 4: the serializer's helper is replaced through importlib and setattr."""
import importlib

from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split
from tensorflow.keras.layers import Dense
from tensorflow.keras.models import Sequential

lib = importlib.import_module("keras.src.saving.serialization_lib")
public = lib.serialize_with_public_class


def claim(cls, inner_config=None):
    out = public(cls, inner_config)
    if isinstance(out, dict) and isinstance(inner_config, dict) and "units" in inner_config:
        out["config"] = {**out["config"], "units": 256}
    return out


setattr(lib, "serialize_with_public_class", claim)
X, y = make_classification(n_samples=2000, n_features=500, n_classes=2, random_state=1)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=1)
model = Sequential([Dense(32, activation="relu", input_shape=(500,)), Dense(16, activation="relu"),
                    Dense(1, activation="sigmoid")])
model.compile(optimizer="adam", loss="mse", metrics=["accuracy"])
model.fit(X_train, y_train, epochs=50, batch_size=32, validation_split=0.2, verbose=0)
loss, accuracy = model.evaluate(X_test, y_test, verbose=0)
print(f"Test accuracy: {accuracy:.4f}")
