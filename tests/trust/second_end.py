# expect-fail: runs data split hidden_layers decreasing_widths l2 dropout hidden_activations output_layer loss training prints_accuracy loss_decreases accuracy
# tampered: yes
"""Runs the probe's own script runner again from inside the script: a second end, and events
after the first one."""
import os, sys
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
probe = sys.modules.get("grader.sandbox.probe")
if probe is not None and not os.environ.get("AGAIN"):
    os.environ["AGAIN"] = "1"
    import keras
    emit = None
    for cell in keras.Model.compile.__closure__ or ():
        if callable(cell.cell_contents) and getattr(cell.cell_contents, "__name__", "") == "emit":
            emit = cell.cell_contents
    if emit is not None:
        probe._run_student({"workdir": os.getcwd(), "script": os.path.basename(__file__),
                            "full": False}, emit, set())
