"""Every bonus challenge of the sheet, done: EarlyStopping on val_loss, ReduceLROnPlateau, a plot
of training against validation loss, and Dropout rates 0.2, 0.3 and 0.5 compared, each printed."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split
from tensorflow.keras.callbacks import EarlyStopping, ReduceLROnPlateau
from tensorflow.keras.layers import Dense, Dropout, Input
from tensorflow.keras.models import Sequential
from tensorflow.keras.optimizers import Adam
from tensorflow.keras.regularizers import l2

X, y = make_classification(n_samples=2000, n_features=500, n_classes=2, random_state=7)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=7)


def build(rate):
    # named layers: every rate builds the same config apart from the rate
    model = Sequential([
        Input(shape=(500,), name="reviews"),
        Dense(256, activation="relu", kernel_regularizer=l2(0.001), name="hidden_256"),
        Dropout(rate, name="drop"),
        Dense(128, activation="relu", kernel_regularizer=l2(0.001), name="hidden_128"),
        Dense(64, activation="relu", kernel_regularizer=l2(0.001), name="hidden_64"),
        Dense(1, activation="sigmoid", name="positive"),
    ], name="sentiment")
    model.compile(optimizer=Adam(learning_rate=0.001), loss="binary_crossentropy",
                  metrics=["accuracy"])
    return model


results = {}
for rate in (0.2, 0.3, 0.5):
    model = build(rate)
    history = model.fit(X_train, y_train, epochs=50, batch_size=32, validation_split=0.2,
                        verbose=0,
                        callbacks=[EarlyStopping(monitor="val_loss", patience=5,
                                                 restore_best_weights=True),
                                   ReduceLROnPlateau(monitor="val_loss", factor=0.5,
                                                     patience=2)])
    loss, accuracy = model.evaluate(X_test, y_test, verbose=0)
    results[rate] = accuracy
    print(f"Dropout {rate}: test accuracy {accuracy:.4f}")

plt.plot(history.history["loss"], label="training loss")
plt.plot(history.history["val_loss"], label="validation loss")
plt.title("Loss per epoch")
plt.legend()
plt.savefig("loss.png")
print(f"Best Dropout rate: {max(results, key=results.get)}")
