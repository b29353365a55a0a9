"""Yara H. -- Sentiment classifier.

I kept notes in the comments so I can revise from this file before the exam.
"""
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split
from tensorflow.keras.layers import Dense, Dropout, Input
from tensorflow.keras.models import Sequential
from tensorflow.keras.optimizers import Adam
from tensorflow.keras.regularizers import l2

# make_classification gives a matrix X (one row per review) and labels y (0 = bad, 1 = good)
X, y = make_classification(n_samples=2000, n_features=500, n_classes=2, random_state=42)
# 80% of the rows to learn from, 20% kept aside for the final check
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=42)

# three hidden layers, each narrower than the one before: the network has to compress
model = Sequential()
model.add(Input(shape=(500,)))                                              # 500 features in
model.add(Dense(256, activation="relu", kernel_regularizer=l2(0.001)))      # L2 = weight penalty
model.add(Dropout(0.45))                                                    # switch off 45%
model.add(Dense(128, activation="relu", kernel_regularizer=l2(0.001)))
model.add(Dropout(0.45))
model.add(Dense(64, activation="relu", kernel_regularizer=l2(0.001)))
model.add(Dense(1, activation="sigmoid"))                                   # P(positive)

# binary cross-entropy because there is a single sigmoid output
model.compile(optimizer=Adam(learning_rate=0.001), loss="binary_crossentropy", metrics=["accuracy"])

# 50 passes over the data, 32 reviews at a time; 20% of the training rows for validation
history = model.fit(X_train, y_train, epochs=50, batch_size=32, validation_split=0.2, verbose=0)
first, last = history.history["loss"][0], history.history["loss"][-1]
print(f"loss went from {first:.3f} to {last:.3f}")          # should go down

# the number that counts
test_loss, test_acc = model.evaluate(X_test, y_test, verbose=0)
print(f"accuracy on unseen reviews: {test_acc:.3f}")
