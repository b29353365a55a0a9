"""A callback that adds to the optimizer's step counter, then raises in on_train_begin (caught by
the script): fit trains nothing, though `iterations` moved."""
import keras
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split
from tensorflow.keras.layers import Dense, Dropout
from tensorflow.keras.models import Sequential
from tensorflow.keras.regularizers import l2


class Skip(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.model.optimizer.iterations.assign_add(500)
        raise RuntimeError("no training today")


X, y = make_classification(n_samples=2000, n_features=500, n_classes=2, random_state=42)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=42)
model = Sequential([Dense(256, activation="relu", kernel_regularizer=l2(0.001), input_shape=(500,)),
                    Dropout(0.3), Dense(128, activation="relu", kernel_regularizer=l2(0.001)),
                    Dense(64, activation="relu"), Dense(1, activation="sigmoid")])
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
try:
    model.fit(X_train, y_train, epochs=50, batch_size=32, validation_split=0.2, verbose=0,
              callbacks=[Skip()])
except RuntimeError:
    pass
loss, accuracy = model.evaluate(X_test, y_test, verbose=0)
print(f"Test accuracy: {accuracy:.4f}")
