# expect-fail:
"""Everything spelled through `tf.keras`, activations given as `tf.nn.relu` / `tf.nn.sigmoid`."""
import tensorflow as tf
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split

# STEP 1: data
X, y = make_classification(n_samples=2000, n_features=500, n_classes=2, random_state=42)

# STEP 2: split 80/20
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=42)

model = tf.keras.Sequential()
model.add(tf.keras.Input(shape=(500,)))
model.add(tf.keras.layers.Dense(256, activation=tf.nn.relu, kernel_regularizer=tf.keras.regularizers.l2(0.001)))
model.add(tf.keras.layers.Dense(128, activation=tf.nn.relu, kernel_regularizer=tf.keras.regularizers.l2(0.001)))
model.add(tf.keras.layers.Dropout(0.3))
model.add(tf.keras.layers.Dense(64, activation=tf.nn.relu))
model.add(tf.keras.layers.Dense(1, activation=tf.nn.sigmoid))

model.compile(optimizer=tf.keras.optimizers.Adam(learning_rate=0.001),
              loss=tf.keras.losses.BinaryCrossentropy(), metrics=["accuracy"])

# STEP 5: train
history = model.fit(X_train, y_train, epochs=50, batch_size=32, validation_split=0.2, verbose=0)

# STEP 6: evaluate
test_loss, test_acc = model.evaluate(X_test, y_test, verbose=0)
print(f"Test accuracy: {test_acc:.4f}")
