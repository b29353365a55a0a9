# Gabriel M. -- Keras 3 style (import keras directly)
import keras
from keras import layers, regularizers
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split

x, y = make_classification(n_samples=2000, n_features=500, n_classes=2, random_state=42)
x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, random_state=42)

model = keras.Sequential(
    [
        keras.Input(shape=(500,)),
        layers.Dense(256, activation="relu", kernel_regularizer=regularizers.L2(1e-3)),
        layers.Dense(128, activation="relu", kernel_regularizer=regularizers.L2(1e-3)),
        layers.Dropout(0.5),
        layers.Dense(64, activation="relu", kernel_regularizer=regularizers.L2(1e-3)),
        layers.Dense(1, activation="sigmoid"),
    ]
)
model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3),
              loss="binary_crossentropy", metrics=["accuracy"])
history = model.fit(x_train, y_train, batch_size=32, epochs=50, validation_split=0.2)
test_scores = model.evaluate(x_test, y_test, verbose=2)
print("Test accuracy: %.2f%%" % (test_scores[1] * 100))
