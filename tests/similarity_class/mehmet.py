"""Mehmet Y. -- all the settings in one place, LeakyReLU as separate layers."""
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split
from tensorflow.keras import layers, models, optimizers, regularizers

CONFIG = {
    "samples": 2000,
    "features": 500,
    "hidden": [256, 128, 64],
    "l2": 0.001,
    "dropout": 0.3,
    "lr": 0.001,
    "epochs": 50,
    "batch": 32,
}

X, y = make_classification(n_samples=CONFIG["samples"], n_features=CONFIG["features"],
                           n_classes=2, random_state=123)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=123)

model = models.Sequential()
model.add(layers.Input(shape=(CONFIG["features"],)))
for units in CONFIG["hidden"]:
    model.add(layers.Dense(units, kernel_regularizer=regularizers.l2(CONFIG["l2"])))
    model.add(layers.LeakyReLU())
    model.add(layers.Dropout(CONFIG["dropout"]))
model.add(layers.Dense(1, activation="sigmoid"))

model.compile(optimizer=optimizers.Adam(learning_rate=CONFIG["lr"]),
              loss="binary_crossentropy", metrics=["accuracy"])
model.fit(X_train, y_train, epochs=CONFIG["epochs"], batch_size=CONFIG["batch"],
          validation_split=0.2, verbose=0)
loss, acc = model.evaluate(X_test, y_test, verbose=0)
print(f"test accuracy: {acc:.2%}")
