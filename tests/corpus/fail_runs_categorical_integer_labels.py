# expect-fail: runs output_layer loss prints_accuracy
"""The lesson's own "Issue in your code": two softmax outputs compiled with categorical
cross-entropy, trained on the integer labels make_classification gives. Keras stops at fit; the
message must name categorical_crossentropy and both of the lesson's fixes."""
from tensorflow.keras.models import Sequential
from tensorflow.keras.layers import Dense, Dropout
from tensorflow.keras.regularizers import l2
from tensorflow.keras.optimizers import Adam
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split

X, y = make_classification(n_samples=2000, n_features=500, n_classes=2, random_state=42)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=42)

model = Sequential()
model.add(Dense(256, activation="relu", kernel_regularizer=l2(0.001), input_shape=(500,)))
model.add(Dropout(0.5))
model.add(Dense(128, activation="relu", kernel_regularizer=l2(0.001)))
model.add(Dropout(0.3))
model.add(Dense(64, activation="relu", kernel_regularizer=l2(0.001)))
model.add(Dense(2, activation="softmax"))
model.compile(optimizer=Adam(learning_rate=0.001), loss="categorical_crossentropy",
              metrics=["accuracy"])
model.fit(X_train, y_train, epochs=50, batch_size=32, validation_split=0.2)
test_loss, test_acc = model.evaluate(X_test, y_test)
print("Test accuracy:", test_acc)
