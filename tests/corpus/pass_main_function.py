# expect-fail:
"""A main() function holding local variables only, called under the __main__ guard."""
from tensorflow.keras.models import Sequential
from tensorflow.keras.layers import Dense, Dropout
from tensorflow.keras.regularizers import l2
from tensorflow.keras.optimizers import Adam
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split


def main():
    X, y = make_classification(n_samples=2000, n_features=500, n_classes=2, random_state=3)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=3)

    classifier = Sequential()
    classifier.add(Dense(256, activation="relu", kernel_regularizer=l2(0.001), input_shape=(500,)))
    classifier.add(Dense(128, activation="relu", kernel_regularizer=l2(0.001)))
    classifier.add(Dropout(0.3))
    classifier.add(Dense(64, activation="relu"))
    classifier.add(Dense(1, activation="sigmoid"))
    classifier.compile(optimizer=Adam(learning_rate=0.001), loss="binary_crossentropy", metrics=["accuracy"])
    classifier.fit(X_train, y_train, epochs=50, batch_size=32, validation_split=0.2, verbose=0)
    _, acc = classifier.evaluate(X_test, y_test, verbose=0)
    print("Final test accuracy: {:.4f}".format(acc))
    return 0


if __name__ == "__main__":
    main()
