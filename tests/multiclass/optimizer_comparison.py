# expect-fail:
# The bonus: the same model trained with Adam and with SGD, each result printed.
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split
from tensorflow.keras.layers import Dense, Dropout
from tensorflow.keras.models import Sequential
from tensorflow.keras.optimizers import SGD, Adam
from tensorflow.keras.regularizers import l2

X, y = make_classification(n_samples=1000, n_features=784, n_classes=10, n_informative=50,
                           random_state=42)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=42)


def make_model():
    return Sequential([
        Dense(128, activation='relu', kernel_regularizer=l2(0.001), input_shape=(784,)),
        Dropout(0.5),
        Dense(64, activation='relu', kernel_regularizer=l2(0.001)),
        Dropout(0.5),
        Dense(10, activation='softmax'),
    ])


results = {}
for name, optimizer in [("sgd", SGD(learning_rate=0.01)), ("adam", Adam(learning_rate=0.001))]:
    model = make_model()
    model.compile(optimizer=optimizer, loss='sparse_categorical_crossentropy', metrics=['accuracy'])
    model.fit(X_train, y_train, epochs=30, batch_size=32, validation_split=0.2, verbose=0)
    results[name] = model.evaluate(X_test, y_test, verbose=0)[1]
    print(f"{name}: test accuracy {results[name]:.4f}")
