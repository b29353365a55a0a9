"""Umar B. -- sentiment classifier, split into small helper functions."""
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split
from tensorflow.keras.layers import Dense, Dropout
from tensorflow.keras.models import Sequential
from tensorflow.keras.optimizers import Adam
from tensorflow.keras.regularizers import l2


def load_reviews(seed=42):
    """2000 fake reviews with 500 features each, 80/20 split."""
    X, y = make_classification(n_samples=2000, n_features=500, n_classes=2, random_state=seed)
    return train_test_split(X, y, test_size=0.2, random_state=seed)


def hidden(units, first=False):
    """One regularised hidden layer (the first one also gets the input shape)."""
    extra = {"input_shape": (500,)} if first else {}
    return Dense(units, activation="relu", kernel_regularizer=l2(0.001), **extra)


def build():
    model = Sequential()
    model.add(hidden(256, first=True))
    model.add(Dropout(0.5))
    model.add(hidden(128))
    model.add(Dropout(0.5))
    model.add(hidden(64))
    model.add(Dense(1, activation="sigmoid"))
    model.compile(optimizer=Adam(learning_rate=0.001), loss="binary_crossentropy",
                  metrics=["accuracy"])
    return model


def report(model, X_test, y_test):
    loss, acc = model.evaluate(X_test, y_test, verbose=0)
    print("=" * 40)
    print(f"test loss     : {loss:.4f}")
    print(f"test accuracy : {acc:.4f}")
    print("=" * 40)
    return acc


X_train, X_test, y_train, y_test = load_reviews()
model = build()
hist = model.fit(X_train, y_train, epochs=50, batch_size=32, validation_split=0.2, verbose=0)
for epoch in (0, 24, 49):
    print(f"epoch {epoch + 1:2d}: loss {hist.history['loss'][epoch]:.4f}, "
          f"val_loss {hist.history['val_loss'][epoch]:.4f}")
report(model, X_test, y_test)
