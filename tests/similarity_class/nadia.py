"""Nadia R. - sentiment classifier (I compute the accuracy myself from predict)."""
import numpy as np
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split
from tensorflow.keras.layers import Dense, Dropout
from tensorflow.keras.models import Sequential
from tensorflow.keras.optimizers import Adam
from tensorflow.keras.regularizers import l2

SEED = 42


def get_data():
    X, y = make_classification(n_samples=2000, n_features=500, n_classes=2, random_state=SEED)
    return train_test_split(X, y, test_size=0.2, random_state=SEED)


def main():
    X_train, X_test, y_train, y_test = get_data()
    model = Sequential()
    model.add(Dense(256, activation="relu", kernel_regularizer=l2(0.001), input_dim=500))
    model.add(Dropout(0.5))
    model.add(Dense(128, activation="relu", kernel_regularizer=l2(0.001)))
    model.add(Dropout(0.5))
    model.add(Dense(64, activation="relu", kernel_regularizer=l2(0.001)))
    model.add(Dense(1, activation="sigmoid"))
    model.compile(optimizer=Adam(learning_rate=0.001), loss="binary_crossentropy",
                  metrics=["accuracy"])
    model.fit(X_train, y_train, epochs=50, batch_size=32, validation_split=0.2, verbose=0)
    probabilities = model.predict(X_test, verbose=0).ravel()
    predictions = (probabilities > 0.5).astype(int)
    print("Test accuracy:", np.mean(predictions == y_test))


main()
