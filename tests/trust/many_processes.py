# expect-fail: runs training prints_accuracy
# tampered: no
"""Starts 300 sleeping processes (bounded: never a fork bomb)."""
import subprocess, time
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
children = []
for _ in range(300):
    try:
        children.append(subprocess.Popen(["sleep", "120"]))
    except OSError as exc:
        print("refused after", len(children), type(exc).__name__)
        break
time.sleep(60)
model.fit(X_train, y_train, epochs=50, batch_size=32, validation_split=0.2, verbose=0)
loss, accuracy = model.evaluate(X_test, y_test, verbose=0)
print(f"Test accuracy: {accuracy:.4f}")
