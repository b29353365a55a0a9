# expect-fail: data split hidden_layers decreasing_widths l2 dropout hidden_activations output_layer loss training prints_accuracy loss_decreases accuracy
# tampered: yes
"""Digs the probe's own (signing) emitter out of Keras' wrapped compile and calls it."""
import keras
from tensorflow.keras.models import Sequential
from tensorflow.keras.layers import Dense
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split

X, y = make_classification(n_samples=2000, n_features=500, n_classes=2, random_state=1)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=1)
model = Sequential([Dense(32, activation="relu", input_shape=(500,)), Dense(16, activation="relu"),
                    Dense(1, activation="sigmoid")])
model.compile(optimizer="adam", loss="mse", metrics=["accuracy"])
emit = None
for cell in keras.Model.compile.__closure__ or ():
    value = cell.cell_contents
    if callable(value) and getattr(value, "__name__", "") == "emit":
        emit = value
if emit is not None:
    emit("compile", model={"uid": 7, "class": "Sequential", "config": None}, compile=None)
model.fit(X_train, y_train, epochs=50, batch_size=32, validation_split=0.2, verbose=0)
loss, accuracy = model.evaluate(X_test, y_test, verbose=0)
print(f"Test accuracy: {accuracy:.4f}")
