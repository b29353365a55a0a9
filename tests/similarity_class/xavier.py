# Xavier D.
import tensorflow as tf
from tensorflow.keras import layers
from sklearn.model_selection import train_test_split
from sklearn.datasets import make_classification

LEARNING_RATE = 0.0005
RANDOM_SEED = 7
L2_FACTOR = 0.0003
DROP = 0.35

tf.random.set_seed(RANDOM_SEED)
model = tf.keras.Sequential(name="wen_net")
model.add(layers.Input(shape=(500,)))
model.add(layers.Dense(384, activation="relu", kernel_regularizer=tf.keras.regularizers.l2(L2_FACTOR)))
model.add(layers.Dropout(DROP))
model.add(layers.Dense(192, activation="relu", kernel_regularizer=tf.keras.regularizers.l2(L2_FACTOR)))
model.add(layers.Dropout(DROP))
model.add(layers.Dense(96, activation="relu", kernel_regularizer=tf.keras.regularizers.l2(L2_FACTOR)))
model.add(layers.Dense(1, activation="sigmoid"))
opt = tf.keras.optimizers.Adam(learning_rate=LEARNING_RATE, beta_1=0.85)
model.compile(optimizer=opt, loss="binary_crossentropy", metrics=["accuracy"])

X, y = make_classification(n_samples=2000, n_features=500, n_classes=2, n_informative=30,
                           random_state=RANDOM_SEED)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=RANDOM_SEED)

history = model.fit(X_train, y_train, epochs=50, batch_size=32, validation_split=0.2, verbose=0)
_, acc = model.evaluate(X_test, y_test, verbose=0)
print("test acc:", acc)
print("best val acc:", max(history.history["val_accuracy"]))
