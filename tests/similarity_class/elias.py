"""Week 6: binary sentiment classifier.

Everything configurable lives in build_model so I can try other sizes later.
"""
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split
from tensorflow.keras.layers import Dense, Dropout
from tensorflow.keras.models import Sequential
from tensorflow.keras.optimizers import Adam
from tensorflow.keras.regularizers import l2


def build_model(n_inputs, widths=(256, 128, 64), dropout=0.5, l2_factor=1e-3):
    """An MLP whose hidden layers shrink; one sigmoid output."""
    net = Sequential()
    for i, width in enumerate(widths):
        if i == 0:
            net.add(Dense(width, activation="relu", kernel_regularizer=l2(l2_factor),
                          input_shape=(n_inputs,)))
        else:
            net.add(Dense(width, activation="relu", kernel_regularizer=l2(l2_factor)))
        net.add(Dropout(dropout))
    net.add(Dense(1, activation="sigmoid"))
    net.compile(optimizer=Adam(learning_rate=1e-3), loss="binary_crossentropy",
                metrics=["accuracy"])
    return net


def main():
    X, y = make_classification(n_samples=2000, n_features=500, n_classes=2, random_state=42)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.2, random_state=42)
    net = build_model(X.shape[1])
    net.fit(X_tr, y_tr, epochs=50, batch_size=32, validation_split=0.2, verbose=0)
    score = net.evaluate(X_te, y_te, verbose=0)
    print(f"test loss {score[0]:.3f}, test accuracy {score[1]:.3f}")


if __name__ == "__main__":
    main()
