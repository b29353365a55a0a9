"""Bonus 4: compare dropout rates 0.2, 0.3 and 0.5 (the last model is the one I hand in)."""
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split
from tensorflow.keras.layers import Dense, Dropout
from tensorflow.keras.models import Sequential
from tensorflow.keras.optimizers import Adam
from tensorflow.keras.regularizers import l2

X, y = make_classification(n_samples=2000, n_features=500, n_classes=2, random_state=42)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=42)


def make_net(rate):
    net = Sequential()
    net.add(Dense(256, activation="relu", kernel_regularizer=l2(0.001), input_shape=(500,)))
    net.add(Dropout(rate))
    net.add(Dense(128, activation="relu", kernel_regularizer=l2(0.001)))
    net.add(Dropout(rate))
    net.add(Dense(64, activation="relu", kernel_regularizer=l2(0.001)))
    net.add(Dense(1, activation="sigmoid"))
    net.compile(optimizer=Adam(0.001), loss="binary_crossentropy", metrics=["accuracy"])
    return net


results = {}
for rate in (0.2, 0.3, 0.5):
    model = make_net(rate)
    model.fit(X_train, y_train, epochs=50, batch_size=32, validation_split=0.2, verbose=0)
    results[rate] = model.evaluate(X_test, y_test, verbose=0)[1]
    print(f"dropout {rate}: test accuracy {results[rate]:.4f}")

best = max(results, key=results.get)
print("best dropout rate:", best)
