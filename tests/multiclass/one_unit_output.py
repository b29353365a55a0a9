# expect-fail: output_layer loss accuracy
# The sentiment exercise's ending kept: one sigmoid unit with binary cross-entropy on labels 0-9
# (its loss falls, but one unit cannot say which of ten).
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split
from tensorflow.keras.layers import Dense, Dropout
from tensorflow.keras.models import Sequential
from tensorflow.keras.regularizers import l2

X, y = make_classification(n_samples=1000, n_features=784, n_classes=10, n_informative=50)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2)

model = Sequential()
model.add(Dense(128, activation='relu', kernel_regularizer=l2(0.001), input_dim=784))
model.add(Dropout(0.5))
model.add(Dense(64, activation='relu', kernel_regularizer=l2(0.001)))
model.add(Dropout(0.5))
model.add(Dense(1, activation='sigmoid'))
model.compile(optimizer='adam', loss='binary_crossentropy', metrics=['accuracy'])
model.fit(X_train, y_train, epochs=30, batch_size=32, validation_split=0.2)
test_loss, test_acc = model.evaluate(X_test, y_test)
print('Test accuracy:', test_acc)
