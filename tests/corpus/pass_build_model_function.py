# expect-fail:
"""The model is built and compiled inside build_model(); the caller names it `net`."""
from tensorflow.keras.models import Sequential
from tensorflow.keras.layers import Dense, Dropout
from tensorflow.keras.regularizers import l2
from tensorflow.keras.optimizers import Adam
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split

def make_data():
    X, y = make_classification(n_samples=2000, n_features=500, n_classes=2, random_state=7)
    return train_test_split(X, y, test_size=0.2, random_state=7)


def build_model(input_dim=500):
    m = Sequential()
    m.add(Dense(256, activation="relu", kernel_regularizer=l2(0.001), input_shape=(input_dim,)))
    m.add(Dense(128, activation="relu", kernel_regularizer=l2(0.001)))
    m.add(Dropout(0.3))
    m.add(Dense(64, activation="relu"))
    m.add(Dense(1, activation="sigmoid"))
    m.compile(optimizer=Adam(learning_rate=0.001), loss="binary_crossentropy", metrics=["accuracy"])
    return m


X_train, X_test, y_train, y_test = make_data()
net = build_model(X_train.shape[1])
net.fit(X_train, y_train, epochs=50, batch_size=32, validation_split=0.2, verbose=0)
loss, acc = net.evaluate(X_test, y_test, verbose=0)
print(f"Test accuracy: {acc:.3f}")
