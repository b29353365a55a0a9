"""Every bonus challenge almost done: EarlyStopping watches the training loss, a learning-rate
schedule is defined but never used, only the training loss is plotted, and three Dropout rates
are trained but their results never printed (only the last model's accuracy is)."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split
from tensorflow.keras.callbacks import EarlyStopping
from tensorflow.keras.layers import Dense, Dropout, Input
from tensorflow.keras.models import Sequential
from tensorflow.keras.optimizers import Adam
from tensorflow.keras.optimizers.schedules import ExponentialDecay
from tensorflow.keras.regularizers import l2

X, y = make_classification(n_samples=2000, n_features=500, n_classes=2, random_state=7)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=7)

schedule = ExponentialDecay(0.001, decay_steps=100, decay_rate=0.9)  # never given to Adam


def build(rate):
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


for rate in (0.2, 0.3, 0.5):
    model = build(rate)
    history = model.fit(X_train, y_train, epochs=50, batch_size=32, validation_split=0.2,
                        verbose=0, callbacks=[EarlyStopping(monitor="loss", patience=5)])

plt.plot(history.history["loss"], label="training loss")
plt.savefig("loss.png")
loss, accuracy = model.evaluate(X_test, y_test, verbose=0)
print(f"Test accuracy: {accuracy:.4f}")
