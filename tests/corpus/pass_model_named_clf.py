# expect-fail:
"""The model is called `clf`; there is no variable named `model`."""
from tensorflow.keras.models import Sequential
from tensorflow.keras.layers import Dense, Dropout
from tensorflow.keras.regularizers import l2
from tensorflow.keras.optimizers import Adam
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split

# STEP 1: data
X, y = make_classification(n_samples=2000, n_features=500, n_classes=2, random_state=42)

# STEP 2: split 80/20
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=42)

clf = Sequential()
clf.add(Dense(256, activation="relu", kernel_regularizer=l2(0.001), input_shape=(500,)))
clf.add(Dense(128, activation="relu", kernel_regularizer=l2(0.001)))
clf.add(Dropout(0.3))
clf.add(Dense(64, activation="relu"))
clf.add(Dense(1, activation="sigmoid"))

clf.compile(optimizer=Adam(learning_rate=0.001), loss="binary_crossentropy", metrics=["accuracy"])

hist = clf.fit(X_train, y_train, epochs=50, batch_size=32, validation_split=0.2, verbose=0)

_, accuracy = clf.evaluate(X_test, y_test, verbose=0)
print("Test accuracy:", accuracy)
