# expect-fail:
"""Plain `import keras` (Keras 3), `from keras import layers, regularizers`, the L2 class."""
import keras
from keras import layers, regularizers
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split

# STEP 1: data
X, y = make_classification(n_samples=2000, n_features=500, n_classes=2, random_state=42)

# STEP 2: split 80/20
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=42)

model = keras.Sequential(
    [
        keras.Input(shape=(500,)),
        layers.Dense(256, activation="relu", kernel_regularizer=regularizers.L2(1e-3)),
        layers.Dense(128, activation="relu", kernel_regularizer=regularizers.L2(1e-3)),
        layers.Dropout(0.4),
        layers.Dense(64, activation="relu"),
        layers.Dense(1, activation="sigmoid"),
    ],
    name="sentiment_mlp",
)

model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3), loss="binary_crossentropy", metrics=["accuracy"])

# STEP 5: train
history = model.fit(X_train, y_train, epochs=50, batch_size=32, validation_split=0.2, verbose=0)

# STEP 6: evaluate
test_loss, test_acc = model.evaluate(X_test, y_test, verbose=0)
print(f"Test accuracy: {test_acc:.4f}")
