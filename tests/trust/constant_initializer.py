# expect-fail: hidden_layers decreasing_widths l2 dropout hidden_activations loss_decreases accuracy
# tampered: no
"""One Dense(1) whose starting weights are fitted to the data beforehand (least squares), with
a learning rate too small to move them: an attempt to choose the grader's starting point."""
import numpy as np
from tensorflow.keras.models import Sequential
from tensorflow.keras.layers import Dense
from tensorflow.keras.initializers import Constant
from tensorflow.keras.optimizers import SGD
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split

X, y = make_classification(n_samples=2000, n_features=500, n_classes=2, random_state=1)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=1)
w = np.linalg.lstsq(X_train, y_train * 2.0 - 1.0, rcond=None)[0].reshape(500, 1)
model = Sequential([Dense(1, activation="sigmoid", input_shape=(500,),
                          kernel_initializer=Constant(w.tolist()))])
model.compile(optimizer=SGD(1e-7), loss="binary_crossentropy", metrics=["accuracy"])
model.fit(X_train, y_train, epochs=50, batch_size=32, validation_split=0.2, verbose=0)
loss, accuracy = model.evaluate(X_test, y_test, verbose=0)
print(f"Test accuracy: {accuracy:.4f}")
