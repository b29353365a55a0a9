# expect-fail: dropout
"""Bonus loop over Dropout rates 0.5, 0.3, 0.0: the last model counts, and it has no dropout."""
from tensorflow.keras.models import Sequential
from tensorflow.keras.layers import Dense, Dropout
from tensorflow.keras.regularizers import l2
from tensorflow.keras.optimizers import Adam
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split

X, y = make_classification(n_samples=2000, n_features=500, n_classes=2, random_state=42)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=42)

for rate in (0.5, 0.3, 0.0):
    model = Sequential()
    model.add(Dense(256, activation="relu", kernel_regularizer=l2(0.001), input_shape=(500,)))
    model.add(Dense(128, activation="relu", kernel_regularizer=l2(0.001)))
    if rate > 0:
        model.add(Dropout(rate))
    model.add(Dense(64, activation="relu"))
    model.add(Dense(1, activation="sigmoid"))
    model.compile(optimizer=Adam(learning_rate=0.001), loss="binary_crossentropy", metrics=["accuracy"])
    model.fit(X_train, y_train, epochs=50, batch_size=32, validation_split=0.2, verbose=0)
    _, acc = model.evaluate(X_test, y_test, verbose=0)
    print(f"Dropout {rate}: test accuracy {acc:.4f}")
