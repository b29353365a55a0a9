"""Aiko N. -- sentiment classifier with a validation report at the end."""
import numpy as np
from sklearn.datasets import make_classification
from sklearn.metrics import classification_report
from sklearn.model_selection import train_test_split
from tensorflow.keras.layers import Dense, Dropout
from tensorflow.keras.models import Sequential
from tensorflow.keras.optimizers import Adam
from tensorflow.keras.regularizers import l2

# data: the random_state is my student number's last digits
X, y = make_classification(n_samples=2000, n_features=500, n_classes=2, random_state=4711)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=4711)

model = Sequential()
model.add(Dense(256, activation="relu", kernel_regularizer=l2(0.001), input_shape=(500,)))
model.add(Dropout(0.5))
model.add(Dense(128, activation="relu", kernel_regularizer=l2(0.001)))
model.add(Dropout(0.5))
model.add(Dense(64, activation="relu", kernel_regularizer=l2(0.001)))
model.add(Dense(1, activation="sigmoid"))
model.compile(optimizer=Adam(learning_rate=0.001), loss="binary_crossentropy", metrics=["accuracy"])

history = model.fit(X_train, y_train, epochs=50, batch_size=32, validation_split=0.2, verbose=0)
print("final training loss:", round(history.history["loss"][-1], 4))
print("final validation accuracy:", round(history.history["val_accuracy"][-1], 4))

loss, accuracy = model.evaluate(X_test, y_test, verbose=0)
print("test accuracy:", round(accuracy, 4))

y_pred = (model.predict(X_test, verbose=0) > 0.5).astype(int).ravel()
print(classification_report(y_test, y_pred, target_names=["negative", "positive"]))
print("confusion:", np.bincount(y_test * 2 + y_pred, minlength=4).reshape(2, 2).tolist())
