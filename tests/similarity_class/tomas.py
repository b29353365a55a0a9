"""Tomas V. -- functional API, loss as an object."""
import tensorflow as tf
from tensorflow.keras import layers
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split

X, y = make_classification(n_samples=2000, n_features=500, n_classes=2, random_state=42)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=42)

reg = tf.keras.regularizers.l2(0.001)
inp = layers.Input(shape=(500,))
x = layers.Dense(256, activation="relu", kernel_regularizer=reg)(inp)
x = layers.Dropout(0.4)(x)
x = layers.Dense(128, activation="relu", kernel_regularizer=reg)(x)
x = layers.Dropout(0.4)(x)
x = layers.Dense(64, activation="relu", kernel_regularizer=reg)(x)
out = layers.Dense(1, activation="sigmoid")(x)

model = tf.keras.Model(inputs=inp, outputs=out)
model.compile(optimizer=tf.keras.optimizers.Adam(1e-3),
              loss=tf.keras.losses.BinaryCrossentropy(),
              metrics=[tf.keras.metrics.BinaryAccuracy(name="accuracy")])
model.fit(X_train, y_train, epochs=50, batch_size=32, validation_split=0.2, verbose=0)
metrics = model.evaluate(X_test, y_test, verbose=0)
print(f"Test accuracy: {metrics[1]:.4f}")
