"""Reference solution: a binary "movie review sentiment" classifier.

A multilayer perceptron on 500 synthetic features (standing in for review embeddings):
three hidden layers that narrow 256 -> 128 -> 64, L2 on every hidden kernel, Dropout between
them, and one sigmoid unit trained with binary cross-entropy.
"""

from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split
from tensorflow.keras.layers import Dense, Dropout, Input
from tensorflow.keras.models import Sequential
from tensorflow.keras.optimizers import Adam
from tensorflow.keras.regularizers import l2

# Step 1: data. 2000 "reviews", 500 features each, two classes (negative 0 / positive 1).
X, y = make_classification(n_samples=2000, n_features=500, n_classes=2, n_informative=50,
                           random_state=42)

# Step 2: hold out 20% for the final test (1600 train / 400 test).
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=42)

# Step 3: the network. Each hidden layer is narrower than the one before.
model = Sequential([
    Input(shape=(500,)),
    Dense(256, activation="relu", kernel_regularizer=l2(0.001)),
    Dropout(0.5),
    Dense(128, activation="relu", kernel_regularizer=l2(0.001)),
    Dropout(0.3),
    Dense(64, activation="relu", kernel_regularizer=l2(0.001)),
    Dense(1, activation="sigmoid"),  # one probability: P(review is positive)
])

# Step 4: binary cross-entropy matches a single sigmoid output.
model.compile(optimizer=Adam(learning_rate=0.001), loss="binary_crossentropy",
              metrics=["accuracy"])

# Step 5: 50 epochs of mini-batches of 32, watching 20% of the training data for validation.
history = model.fit(X_train, y_train, epochs=50, batch_size=32, validation_split=0.2, verbose=0)
print(f"Training loss: {history.history['loss'][0]:.4f} -> {history.history['loss'][-1]:.4f}")

# Step 6: the number that matters, on data the model never saw.
test_loss, test_accuracy = model.evaluate(X_test, y_test, verbose=0)
print(f"Test accuracy: {test_accuracy:.4f}")
