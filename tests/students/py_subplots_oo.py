# expect-fail:
# Two panels with the object-oriented API, saved with fig.savefig and never shown.
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split
from tensorflow import keras
from tensorflow.keras import layers, regularizers
import matplotlib.pyplot as plt

X, y = make_classification(n_samples=2000, n_features=500, n_classes=2, random_state=7)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=7)

model = keras.Sequential([
    keras.Input(shape=(500,)),
    layers.Dense(256, activation="relu", kernel_regularizer=regularizers.l2(0.001)),
    layers.Dropout(0.5),
    layers.Dense(128, activation="relu", kernel_regularizer=regularizers.l2(0.001)),
    layers.Dropout(0.3),
    layers.Dense(64, activation="relu", kernel_regularizer=regularizers.l2(0.001)),
    layers.Dense(1, activation="sigmoid"),
])
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
history = model.fit(X_train, y_train, epochs=50, batch_size=32, validation_split=0.2, verbose=0)
test_loss, test_acc = model.evaluate(X_test, y_test, verbose=0)
print(f"Test accuracy: {test_acc:.4f}")

fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
left.plot(history.history["loss"], label="train")
left.plot(history.history["val_loss"], label="validation")
left.set_title("Loss")
right.plot(history.history["accuracy"], label="train")
right.plot(history.history["val_accuracy"], label="validation")
right.set_title("Accuracy")
fig.savefig("curves.png", dpi=150)
