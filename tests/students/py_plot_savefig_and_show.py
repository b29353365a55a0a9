# expect-fail:
# Bonus 3 done the usual way: plot train vs validation loss, save it, show it.
import matplotlib.pyplot as plt
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split
from tensorflow.keras.layers import Dense, Dropout
from tensorflow.keras.models import Sequential
from tensorflow.keras.optimizers import Adam
from tensorflow.keras.regularizers import l2

# STEP 1 - Generate the data.
X, y = make_classification(n_samples=2000, n_features=500, n_classes=2, random_state=42)

# STEP 2 - Split the data.
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=42)

# STEP 3 - Build the model.
model = Sequential()
model.add(Dense(256, activation="relu", kernel_regularizer=l2(0.001), input_shape=(500,)))
model.add(Dense(128, activation="relu", kernel_regularizer=l2(0.001)))
model.add(Dropout(0.3))
model.add(Dense(64, activation="relu", kernel_regularizer=l2(0.001)))
model.add(Dense(1, activation="sigmoid"))

# STEP 4 - Compile.
model.compile(optimizer=Adam(learning_rate=0.001), loss="binary_crossentropy", metrics=["accuracy"])

# STEP 5 - Train.
history = model.fit(X_train, y_train, epochs=50, batch_size=32, validation_split=0.2, verbose=0)

# STEP 6 - Evaluate.
loss, acc = model.evaluate(X_test, y_test, verbose=0)
print("Test accuracy:", acc)

plt.figure(figsize=(8, 5))
plt.plot(history.history["loss"], label="training loss")
plt.plot(history.history["val_loss"], label="validation loss")
plt.title("Training vs validation loss")
plt.xlabel("epoch")
plt.ylabel("loss")
plt.legend()
plt.savefig("loss.png")
plt.show()
