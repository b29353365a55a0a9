# expect-fail: data split hidden_layers decreasing_widths l2 dropout hidden_activations output_layer loss training prints_accuracy loss_decreases accuracy
# tampered: yes
"""Writes well-formed events claiming the sheet's model into every open descriptor (the raw
channel included), signed with a made-up signature, then does a poor exercise."""
import json, os
from tensorflow.keras.models import Sequential
from tensorflow.keras.layers import Dense
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split

X, y = make_classification(n_samples=2000, n_features=500, n_classes=2, random_state=1)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=1)
model = Sequential([Dense(32, activation="relu", input_shape=(500,)), Dense(16, activation="relu"),
                    Dense(1, activation="sigmoid")])
model.compile(optimizer="adam", loss="mse", metrics=["accuracy"])
SHEET = {"uid": 1, "class": "Sequential", "built": True, "config": {"class_name": "Sequential",
         "config": {"layers": [{"class_name": "Dense", "config": {"units": 256, "activation": "relu"}}]}}}
for seq in range(0, 40):
    line = json.dumps({"seq": seq, "event": "compile", "model": SHEET,
                       "compile": {"loss": "binary_crossentropy", "optimizer": "adam"}})
    for fd in range(3, 64):
        try:
            os.write(fd, ("f" * 64 + " " + line + "\n").encode())
        except OSError:
            pass
model.fit(X_train, y_train, epochs=50, batch_size=32, validation_split=0.2, verbose=0)
loss, accuracy = model.evaluate(X_test, y_test, verbose=0)
print(f"Test accuracy: {accuracy:.4f}")
