# expect-fail: output_layer
# Ten sigmoid units instead of a softmax (each class scored on its own).
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split
import tensorflow as tf

X, y = make_classification(n_samples=1000, n_features=784, n_classes=10, n_informative=50)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2)

model = tf.keras.Sequential([
    tf.keras.Input(shape=(784,)),
    tf.keras.layers.Dense(128, activation="relu", kernel_regularizer=tf.keras.regularizers.l2(1e-3)),
    tf.keras.layers.Dropout(0.5),
    tf.keras.layers.Dense(64, activation="relu", kernel_regularizer=tf.keras.regularizers.l2(1e-3)),
    tf.keras.layers.Dropout(0.5),
    tf.keras.layers.Dense(10, activation="sigmoid"),
])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(X_train, y_train, epochs=30, batch_size=32, validation_split=0.2, verbose=2)
_, accuracy = model.evaluate(X_test, y_test, verbose=0)
print(f"Test accuracy: {accuracy:.3f}")
