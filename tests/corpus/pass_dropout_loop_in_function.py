# expect-fail:
"""Bonus 4 inside a function: no module-level model, the last compiled/trained model (rate 0.5) counts."""
from tensorflow.keras.models import Sequential
from tensorflow.keras.layers import Dense, Dropout
from tensorflow.keras.regularizers import l2
from tensorflow.keras.optimizers import Adam
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split


def experiment(X_train, X_test, y_train, y_test):
    scores = []
    for rate in [0.2, 0.3, 0.5]:
        m = Sequential([
            Dense(256, activation="relu", kernel_regularizer=l2(0.001), input_shape=(500,)),
            Dropout(rate),
            Dense(128, activation="relu", kernel_regularizer=l2(0.001)),
            Dropout(rate),
            Dense(64, activation="relu"),
            Dense(1, activation="sigmoid"),
        ])
        m.compile(optimizer=Adam(learning_rate=0.001), loss="binary_crossentropy", metrics=["accuracy"])
        m.fit(X_train, y_train, epochs=50, batch_size=32, validation_split=0.2, verbose=0)
        acc = m.evaluate(X_test, y_test, verbose=0)[1]
        scores.append((rate, acc))
        print(f"rate={rate} test_accuracy={acc:.4f}")
    return scores


if __name__ == "__main__":
    X, y = make_classification(n_samples=2000, n_features=500, n_classes=2, random_state=0)
    experiment(*train_test_split(X, y, test_size=0.2, random_state=0))
