# expect-fail: runs loss training prints_accuracy loss_decreases accuracy
# `metric=` instead of `metrics=`: the model is finished, the compile call fails.
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split
from tensorflow.keras.layers import Dense, Dropout
from tensorflow.keras.models import Sequential
from tensorflow.keras.regularizers import l2

X, y = make_classification(n_samples=2000, n_features=500, n_classes=2)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2)

model = Sequential()
model.add(Dense(256, activation='relu', kernel_regularizer=l2(0.001), input_shape=(500,)))
model.add(Dense(128, activation='relu', kernel_regularizer=l2(0.001)))
model.add(Dropout(0.5))
model.add(Dense(64, activation='relu'))
model.add(Dense(1, activation='sigmoid'))

model.compile(optimizer='adam', loss='binary_crossentropy', metric=['accuracy'])

model.fit(X_train, y_train, epochs=50, batch_size=32, validation_split=0.2)
loss, accuracy = model.evaluate(X_test, y_test)
print('Test accuracy:', accuracy)
