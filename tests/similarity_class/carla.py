# Carla F. - sentiment MLP. Named layers so model.summary() is readable.
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split
from tensorflow.keras.layers import Dense, Dropout
from tensorflow.keras.models import Sequential
from tensorflow.keras.optimizers import Adam
from tensorflow.keras.regularizers import l2

X, y = make_classification(n_samples=2000, n_features=500, n_classes=2, random_state=42)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=42)

model = Sequential()
model.add(Dense(256, activation="relu", kernel_regularizer=l2(0.0005), input_shape=(500,),
                name="hidden_big"))
model.add(Dropout(0.3, name="drop_big"))
model.add(Dense(128, activation="relu", kernel_regularizer=l2(0.0005), name="hidden_mid"))
model.add(Dropout(0.3, name="drop_mid"))
model.add(Dense(64, activation="relu", kernel_regularizer=l2(0.0005), name="hidden_small"))
model.add(Dense(1, activation="sigmoid", name="verdict"))
model.summary()

model.compile(optimizer=Adam(learning_rate=0.001, amsgrad=True), loss="binary_crossentropy",
              metrics=["accuracy"])
model.fit(X_train, y_train, epochs=50, batch_size=32, validation_split=0.2, verbose=0)
loss, acc = model.evaluate(X_test, y_test, verbose=0)
print("Test accuracy:", acc)
