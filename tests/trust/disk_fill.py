# expect-fail:
# tampered: no
"""Tries to write 900 MiB into its working directory, then does the exercise properly."""
import os
written = 0
try:
    with open("big.bin", "wb") as handle:
        for _ in range(900):
            handle.write(b"\0" * (1 << 20))
            handle.flush()
            written += 1
except OSError as exc:
    print("stopped writing:", type(exc).__name__)
print("WROTE_MIB", written)
try:
    os.remove("big.bin")
except OSError:
    pass
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
model.fit(X_train, y_train, epochs=50, batch_size=32, validation_split=0.2, verbose=0)
loss, accuracy = model.evaluate(X_test, y_test, verbose=0)
print(f"Test accuracy: {accuracy:.4f}")
