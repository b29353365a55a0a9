"""Reference solution: a ten-class classifier on 784 synthetic features.

The lesson's "Architecture 2": two hidden layers that narrow 128 -> 64, each with an L2 kernel
penalty and followed by Dropout(0.5), and a softmax over the ten classes. The labels stay
integers 0-9, so the loss is sparse categorical cross-entropy.
"""

from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split
from tensorflow.keras.layers import Dense, Dropout, Input
from tensorflow.keras.models import Sequential
from tensorflow.keras.optimizers import Adam
from tensorflow.keras.regularizers import l2

# Step 1: data. 1000 rows of 784 features (an image's pixels, say), 10 classes, 50 of the
# features informative.
X, y = make_classification(n_samples=1000, n_features=784, n_classes=10, n_informative=50,
                           random_state=42)

# Step 2: hold out 20% for the final test (800 train / 200 test).
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=42)

# Step 3: the network. Dropout after each hidden layer; one probability per class at the end.
model = Sequential([
    Input(shape=(784,)),
    Dense(128, activation="relu", kernel_regularizer=l2(0.001)),
    Dropout(0.5),
    Dense(64, activation="relu", kernel_regularizer=l2(0.001)),
    Dropout(0.5),
    Dense(10, activation="softmax"),
])

# Step 4: integer labels 0-9 go with the sparse loss (one-hot labels would take
# categorical_crossentropy).
model.compile(optimizer=Adam(learning_rate=0.001), loss="sparse_categorical_crossentropy",
              metrics=["accuracy"])

# Step 5: 30 epochs of mini-batches of 32, watching 20% of the training rows for validation.
history = model.fit(X_train, y_train, epochs=30, batch_size=32, validation_split=0.2, verbose=0)
print(f"Training loss: {history.history['loss'][0]:.4f} -> {history.history['loss'][-1]:.4f}")

# Step 6: the accuracy on rows the model never saw (chance is 10%).
test_loss, test_accuracy = model.evaluate(X_test, y_test, verbose=0)
print(f"Test accuracy: {test_accuracy:.4f}")
