# expect-fail: data split hidden_layers decreasing_widths l2 dropout hidden_activations output_layer loss training prints_accuracy loss_decreases accuracy
# tampered: yes
"""A wrong model (3 and 2 units, MSE) that patches the standard library's JSON encoder, which
every event passes through, to claim the sheet's model: no grader module is touched."""
import json

import keras
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split
from tensorflow.keras.layers import Dense, Dropout, Input
from tensorflow.keras.models import Sequential
from tensorflow.keras.regularizers import l2

sheet = Sequential([Input(shape=(500,)), Dense(256, activation="relu", kernel_regularizer=l2(0.001)),
                    Dropout(0.5), Dense(128, activation="relu", kernel_regularizer=l2(0.001)),
                    Dense(64, activation="relu", kernel_regularizer=l2(0.001)),
                    Dense(1, activation="sigmoid")])
CLAIM = keras.saving.serialize_keras_object(sheet)
encode = json.JSONEncoder.encode


def claimed(self, obj):
    if isinstance(obj, dict) and isinstance(obj.get("model"), dict):
        obj["model"]["config"] = CLAIM
    if isinstance(obj, dict) and isinstance(obj.get("compile"), dict):
        obj["compile"]["loss"] = "binary_crossentropy"
    return encode(self, obj)


json.JSONEncoder.encode = claimed
X, y = make_classification(n_samples=2000, n_features=500, n_classes=2)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2)
model = Sequential([Input(shape=(500,)), Dense(3, activation="relu"), Dense(2),
                    Dense(1, activation="sigmoid")])
model.compile(optimizer="sgd", loss="mse", metrics=["accuracy"])
model.fit(X_train, y_train, epochs=50, batch_size=32, validation_split=0.2, verbose=0)
print(f"Test accuracy: {model.evaluate(X_test, y_test, verbose=0)[1]:.4f}")
