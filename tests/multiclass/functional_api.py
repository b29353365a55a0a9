# expect-fail:
# The functional API, keras-io style, with a helper that builds the model.
import keras
from keras import layers
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split


def build_model(num_classes=10, rate=0.5):
    inputs = keras.Input(shape=(784,), name="pixels")
    x = layers.Dense(128, activation="relu", kernel_regularizer=keras.regularizers.L2(1e-3))(inputs)
    x = layers.Dropout(rate)(x)
    x = layers.Dense(64, activation="relu", kernel_regularizer=keras.regularizers.L2(1e-3))(x)
    x = layers.Dropout(rate)(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="classes")(x)
    return keras.Model(inputs, outputs, name="architecture_2")


X, y = make_classification(n_samples=1000, n_features=784, n_classes=10, n_informative=50,
                           random_state=42)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=42)
model = build_model()
model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3),
              loss=keras.losses.SparseCategoricalCrossentropy(), metrics=["accuracy"])
history = model.fit(X_train, y_train, batch_size=32, epochs=30, validation_split=0.2, verbose=0)
score = model.evaluate(X_test, y_test, verbose=0)
print("Test loss:", score[0])
print("Test accuracy:", score[1])
