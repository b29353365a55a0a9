"""Sentiment classifier with the functional API (Dmitri K.)."""
import tensorflow as tf
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split

features, target = make_classification(n_samples=2000, n_features=500, n_classes=2,
                                       random_state=2024)
f_train, f_test, t_train, t_test = train_test_split(features, target, test_size=0.2,
                                                    random_state=2024)

inputs = tf.keras.Input(shape=(500,), name="review")
h = tf.keras.layers.Dense(256, activation="relu",
                          kernel_regularizer=tf.keras.regularizers.l2(0.001), name="h1")(inputs)
h = tf.keras.layers.Dropout(0.5, name="drop1")(h)
h = tf.keras.layers.Dense(128, activation="relu",
                          kernel_regularizer=tf.keras.regularizers.l2(0.001), name="h2")(h)
h = tf.keras.layers.Dropout(0.5, name="drop2")(h)
h = tf.keras.layers.Dense(64, activation="relu",
                          kernel_regularizer=tf.keras.regularizers.l2(0.001), name="h3")(h)
out = tf.keras.layers.Dense(1, activation="sigmoid", name="positive")(h)
clf = tf.keras.Model(inputs, out)

clf.compile(optimizer=tf.keras.optimizers.Adam(learning_rate=1e-3),
            loss=tf.keras.losses.BinaryCrossentropy(), metrics=["accuracy"])
clf.fit(f_train, t_train, epochs=50, batch_size=32, validation_split=0.2, verbose=0)
_, test_acc = clf.evaluate(f_test, t_test, verbose=0)
print("Test accuracy: %.4f" % test_acc)
