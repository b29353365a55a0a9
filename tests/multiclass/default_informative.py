# expect-fail: runs data split hidden_layers decreasing_widths l2 dropout hidden_activations output_layer loss optimizer training prints_accuracy loss_decreases accuracy
# make_classification with ten classes and the default n_informative=2: scikit-learn refuses it.
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split
from tensorflow.keras.layers import Dense, Dropout
from tensorflow.keras.models import Sequential

X, y = make_classification(n_samples=1000, n_features=784, n_classes=10)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2)
model = Sequential([Dense(128, activation='relu', input_shape=(784,)), Dropout(0.5),
                    Dense(64, activation='relu'), Dropout(0.5), Dense(10, activation='softmax')])
model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])
model.fit(X_train, y_train, epochs=30, batch_size=32, validation_split=0.2)
print("Test accuracy:", model.evaluate(X_test, y_test)[1])
