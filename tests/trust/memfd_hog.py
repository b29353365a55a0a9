# expect-fail: runs training prints_accuracy
# grade-options: memory_mb=1500
# tampered: no
"""Holds 1920 MiB in four memfds (not mapped, so not resident) under a 1500 MB limit."""
import os, time
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
chunk = b"x" * (16 << 20)
fds = []
for i in range(4):
    fd = os.memfd_create(f"hog{i}")
    for _ in range(30):
        os.write(fd, chunk)
    fds.append(fd)
print("holding", 4 * 30 * 16, "MiB")
time.sleep(60)
model.fit(X_train, y_train, epochs=50, batch_size=32, validation_split=0.2, verbose=0)
loss, accuracy = model.evaluate(X_test, y_test, verbose=0)
print(f"Test accuracy: {accuracy:.4f}")
