# Zeno
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split
from tensorflow.keras.layers import Dense, Dropout, Input
from tensorflow.keras.models import Sequential
from tensorflow.keras.optimizers import Adam
from tensorflow.keras.regularizers import l2

# Daten erzeugen
X, y = make_classification(
    n_samples=2000,
    n_features=500,
    n_classes=2,
    random_state=42,
)
# Aufteilen in Training und Test
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.2, random_state=42
)

# Modell
model = Sequential()
model.add(Input(shape=(500,)))
model.add(Dense(256, activation="relu", kernel_regularizer=l2(0.001)))
model.add(Dropout(0.45))
model.add(Dense(128, activation="relu", kernel_regularizer=l2(0.001)))
model.add(Dropout(0.45))
model.add(Dense(64, activation="relu", kernel_regularizer=l2(0.001)))
model.add(Dense(1, activation="sigmoid"))

model.compile(
    optimizer=Adam(learning_rate=0.001),
    loss="binary_crossentropy",
    metrics=["accuracy"],
)

# Training
history = model.fit(
    X_train, y_train, epochs=50, batch_size=32, validation_split=0.2, verbose=0
)
first, last = history.history["loss"][0], history.history["loss"][-1]
print(f"Verlust: {first:.3f} -> {last:.3f}")

# Auswertung
test_loss, test_acc = model.evaluate(X_test, y_test, verbose=0)
print(f"Genauigkeit: {test_acc:.3f}")
