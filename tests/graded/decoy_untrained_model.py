"""Row 1: a correct `model` is built and compiled only; `real` (2 hidden layers, MSE) is the one
trained, evaluated and printed."""
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split
from tensorflow.keras.layers import Dense, Dropout
from tensorflow.keras.models import Sequential
from tensorflow.keras.regularizers import l2

X, y = make_classification(n_samples=2000, n_features=500, n_classes=2, random_state=42)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=42)
model = Sequential([Dense(256, activation="relu", kernel_regularizer=l2(0.001), input_shape=(500,)),
                    Dropout(0.3), Dense(128, activation="relu", kernel_regularizer=l2(0.001)),
                    Dense(64, activation="relu"), Dense(1, activation="sigmoid")])
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
real = Sequential([Dense(32, activation="relu", input_shape=(500,)), Dense(16, activation="relu"),
                   Dense(1, activation="sigmoid")])
real.compile(optimizer="adam", loss="mse", metrics=["accuracy"])
real.fit(X_train, y_train, epochs=50, batch_size=32, validation_split=0.2, verbose=0)
loss, accuracy = real.evaluate(X_test, y_test, verbose=0)
print(f"Test accuracy: {accuracy:.4f}")
