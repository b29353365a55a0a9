# expect-fail: training
"""Splits the data, then trains on all of it (X, y): the test rows are among the rows fit learns from."""
from tensorflow.keras.models import Sequential
from tensorflow.keras.layers import Dense, Dropout, Input
from tensorflow.keras.regularizers import l2
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split

X, y = make_classification(n_samples=2000, n_features=500, n_classes=2, random_state=42)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=42)
model = Sequential([
    Input(shape=(500,)),
    Dense(256, activation="relu", kernel_regularizer=l2(0.001)), Dropout(0.3),
    Dense(128, activation="relu", kernel_regularizer=l2(0.001)), Dropout(0.3),
    Dense(64, activation="relu", kernel_regularizer=l2(0.001)),
    Dense(1, activation="sigmoid"),
])
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
model.fit(X, y, epochs=50, batch_size=32, validation_split=0.2, verbose=0)
print("Test accuracy:", model.evaluate(X_test, y_test, verbose=0)[1])
