# expect-fail: runs loss prints_accuracy
# The lesson's "Issue in your code": integer labels with categorical_crossentropy.
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split
from tensorflow.keras.layers import Dense, Dropout
from tensorflow.keras.models import Sequential
from tensorflow.keras.optimizers import Adam
from tensorflow.keras.regularizers import l2

x, y = make_classification(n_samples=1000, n_features=784, n_classes=10, n_informative=50,
                           random_state=42)
x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, random_state=42)

model = Sequential([
    Dense(128, activation='relu', kernel_regularizer=l2(0.001), input_shape=(784,)),
    Dropout(0.5),
    Dense(64, activation='relu', kernel_regularizer=l2(0.001)),
    Dropout(0.5),
    Dense(10, activation='softmax'),
])
model.compile(optimizer=Adam(learning_rate=0.001), loss='categorical_crossentropy',
              metrics=['accuracy'])
model.fit(x_train, y_train, epochs=30, batch_size=32, validation_split=0.2)
print(model.evaluate(x_test, y_test))
