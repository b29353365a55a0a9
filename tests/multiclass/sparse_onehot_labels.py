# expect-fail: runs loss prints_accuracy
# One-hot labels given to sparse_categorical_crossentropy (both fixes at once).
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split
from tensorflow.keras.layers import Dense, Dropout
from tensorflow.keras.models import Sequential
from tensorflow.keras.regularizers import l2
from tensorflow.keras.utils import to_categorical

X, y = make_classification(n_samples=1000, n_features=784, n_classes=10, n_informative=50)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2)
y_train, y_test = to_categorical(y_train, 10), to_categorical(y_test, 10)
model = Sequential([
    Dense(128, activation='relu', kernel_regularizer=l2(0.001), input_shape=(784,)),
    Dropout(0.5),
    Dense(64, activation='relu', kernel_regularizer=l2(0.001)),
    Dropout(0.5),
    Dense(10, activation='softmax'),
])
model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])
model.fit(X_train, y_train, epochs=30, batch_size=32, validation_split=0.2)
print("Test accuracy:", model.evaluate(X_test, y_test)[1])
