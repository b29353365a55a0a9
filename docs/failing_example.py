"""A submission with a few classic mistakes, for the README's screenshot of the HTML report:
hidden widths that grow (128 -> 256), no L2 regularization, a hidden layer without an
activation; it tries one bonus challenge (EarlyStopping on the validation loss)."""
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split
from tensorflow.keras.callbacks import EarlyStopping
from tensorflow.keras.layers import Dense, Dropout, Input
from tensorflow.keras.models import Sequential

X, y = make_classification(n_samples=2000, n_features=500, n_classes=2, random_state=1)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=1)

model = Sequential([
    Input(shape=(500,)),
    Dense(128, activation="relu"),
    Dense(256, activation="relu"),
    Dropout(0.3),
    Dense(64),
    Dense(1, activation="sigmoid"),
])
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
model.fit(X_train, y_train, epochs=50, batch_size=32, validation_split=0.2, verbose=0,
          callbacks=[EarlyStopping(monitor="val_loss", patience=5)])
loss, accuracy = model.evaluate(X_test, y_test, verbose=0)
print(f"Test accuracy: {accuracy:.4f}")
