# expect-fail:
"""Bonus 4: compare Dropout rates 0.2, 0.3, 0.5 in a loop at module level; the last model counts."""
from tensorflow.keras.models import Sequential
from tensorflow.keras.layers import Dense, Dropout
from tensorflow.keras.regularizers import l2
from tensorflow.keras.optimizers import Adam
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split

X, y = make_classification(n_samples=2000, n_features=500, n_classes=2, random_state=42)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=42)


def build(rate):
    m = Sequential()
    m.add(Dense(256, activation="relu", kernel_regularizer=l2(0.001), input_shape=(500,)))
    m.add(Dense(128, activation="relu", kernel_regularizer=l2(0.001)))
    m.add(Dropout(rate))
    m.add(Dense(64, activation="relu"))
    m.add(Dense(1, activation="sigmoid"))
    return m


results = {}
for rate in (0.2, 0.3, 0.5):
    model = build(rate)
    model.compile(optimizer=Adam(learning_rate=0.001), loss="binary_crossentropy", metrics=["accuracy"])
    model.fit(X_train, y_train, epochs=50, batch_size=32, validation_split=0.2, verbose=0)
    _, acc = model.evaluate(X_test, y_test, verbose=0)
    results[rate] = acc
    print(f"Dropout {rate}: test accuracy {acc:.4f}")

best = max(results, key=results.get)
print(f"Best dropout rate: {best}")
