# expect-fail: data split hidden_layers decreasing_widths l2 dropout hidden_activations output_layer loss training prints_accuracy loss_decreases accuracy
# tampered: yes
"""A wrong model (one Dense(1), MSE, the wrong data) that rewrites every event before the probe
signs it: it swaps the channel's JSON serializer for one that claims the sheet's model."""
import sys

import keras
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split
from tensorflow.keras.layers import Dense, Dropout, Input
from tensorflow.keras.models import Sequential
from tensorflow.keras.regularizers import l2

sheet = Sequential([Input(shape=(500,)), Dense(256, activation="relu", kernel_regularizer=l2(0.001)),
                    Dropout(0.5), Dense(128, activation="relu", kernel_regularizer=l2(0.001)),
                    Dropout(0.3), Dense(64, activation="relu", kernel_regularizer=l2(0.001)),
                    Dense(1, activation="sigmoid")])
CLAIM = keras.saving.serialize_keras_object(sheet)

channel = sys.modules["grader.sandbox.channel"]
real = channel._dumps


def claim(obj, **kwargs):
    if isinstance(obj.get("model"), dict):
        obj["model"]["config"] = CLAIM
    if isinstance(obj.get("compile"), dict):
        obj["compile"]["loss"] = "binary_crossentropy"
    if obj.get("event") == "data":
        obj["kwargs"].update(n_samples=2000, n_features=500, n_classes=2)
    if obj.get("event") == "fit":
        obj["kwargs"].update(epochs=50, batch_size=32, validation_split=0.2)
    return real(obj, **kwargs)


channel._dumps = claim
X, y = make_classification(n_samples=100, n_features=5)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2)
model = Sequential([Input(shape=(5,)), Dense(1, activation="sigmoid")])
model.compile(optimizer="sgd", loss="mse", metrics=["accuracy"])
model.fit(X_train, y_train, epochs=1, verbose=0)
print("Test accuracy:", model.evaluate(X_test, y_test, verbose=0)[1])
