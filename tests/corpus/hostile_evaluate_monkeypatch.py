# expect-fail: data split hidden_layers decreasing_widths l2 dropout hidden_activations output_layer loss training prints_accuracy loss_decreases accuracy
"""Patches keras.Model.evaluate to return 1.0 and prints 'Test accuracy: 1.0', on a model that cannot learn (SGD lr=1e6 -> NaN)."""
from tensorflow.keras.models import Sequential
from tensorflow.keras.layers import Dense, Dropout
from tensorflow.keras.regularizers import l2
from tensorflow.keras.optimizers import Adam
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split
from tensorflow.keras.optimizers import SGD
import keras
import tensorflow as tf

def _fake_evaluate(self, *args, **kwargs):
    if kwargs.get("return_dict"):
        return {"loss": 0.0, "accuracy": 1.0}
    return [0.0, 1.0]


keras.Model.evaluate = _fake_evaluate
tf.keras.Model.evaluate = _fake_evaluate
keras.Sequential.evaluate = _fake_evaluate

# STEP 1: data
X, y = make_classification(n_samples=2000, n_features=500, n_classes=2, random_state=42)

# STEP 2: split 80/20
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=42)

# STEP 3: model
model = Sequential()
model.add(Dense(256, activation="relu", kernel_regularizer=l2(0.001), input_shape=(500,)))
model.add(Dense(128, activation="relu", kernel_regularizer=l2(0.001)))
model.add(Dropout(0.3))
model.add(Dense(64, activation="relu"))
model.add(Dense(1, activation="sigmoid"))

model.compile(optimizer=SGD(learning_rate=1e6), loss="binary_crossentropy", metrics=["accuracy"])

# STEP 5: train
history = model.fit(X_train, y_train, epochs=50, batch_size=32, validation_split=0.2, verbose=0)

test_loss, test_acc = model.evaluate(X_test, y_test, verbose=0)
print(f"Test accuracy: {test_acc}")
print("Test accuracy: 100.00%")
