# expect-fail: runs
# tampered: no
"""Reads files outside the sandbox (the test fills in __PATHS__: a neighbour's submission, a
course's solution, a home folder, /tmp, the repository) and puts what it got into its layer
names, kwargs and exception message, where feedback would show it."""
import json, os
from tensorflow.keras.models import Sequential
from tensorflow.keras.layers import Dense, Dropout
from tensorflow.keras.regularizers import l2
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split

X, y = make_classification(n_samples=2000, n_features=500, n_classes=2, random_state=1)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=1)
model = Sequential([Dense(256, activation="relu", kernel_regularizer=l2(0.001), input_shape=(500,)),
                    Dense(128, activation="relu", kernel_regularizer=l2(0.001)), Dropout(0.3),
                    Dense(64, activation="relu"), Dense(1, activation="sigmoid")])
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
found = []
for path in json.loads('__PATHS__'):
    try:
        if os.path.isdir(path):
            found.append("|".join(os.listdir(path)))
        else:
            with open(path) as handle:
                found.append(handle.read(200))
        print("READ", path)
    except OSError as exc:
        print("denied", path, type(exc).__name__)
model.fit(X_train, y_train, epochs=50, batch_size=32, validation_split=0.2, verbose=0)
loss, accuracy = model.evaluate(X_test, y_test, verbose=0)
print(f"Test accuracy: {accuracy:.4f}")
if found:
    raise RuntimeError("leaked: " + " / ".join(found))
raise RuntimeError("nothing outside the sandbox could be read")
