# Quentin -- smaller network (128/64/32) with RMSprop, plus the loss curves (bonus 3)
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split
from tensorflow.keras.layers import Dense, Dropout
from tensorflow.keras.models import Sequential
from tensorflow.keras.optimizers import RMSprop
from tensorflow.keras.regularizers import l2

X, y = make_classification(n_samples=2000, n_features=500, n_classes=2, random_state=5)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=5)

model = Sequential()
model.add(Dense(128, activation="tanh", kernel_regularizer=l2(0.001), input_shape=(500,)))
model.add(Dropout(0.25))
model.add(Dense(64, activation="tanh", kernel_regularizer=l2(0.001)))
model.add(Dropout(0.25))
model.add(Dense(32, activation="tanh", kernel_regularizer=l2(0.001)))
model.add(Dense(1, activation="sigmoid"))
model.compile(optimizer=RMSprop(learning_rate=0.0005), loss="binary_crossentropy",
              metrics=["accuracy"])
hist = model.fit(X_train, y_train, epochs=50, batch_size=32, validation_split=0.2, verbose=0)

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
ax1.plot(hist.history["loss"], label="train")
ax1.plot(hist.history["val_loss"], label="validation")
ax1.set_title("loss")
ax1.legend()
ax2.plot(hist.history["accuracy"], label="train")
ax2.plot(hist.history["val_accuracy"], label="validation")
ax2.set_title("accuracy")
ax2.legend()
fig.savefig("curves.png")

print("test accuracy", model.evaluate(X_test, y_test, verbose=0)[1])
