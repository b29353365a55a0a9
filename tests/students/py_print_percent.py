# expect-fail:
# The accuracy printed as a whole percentage ("50%"), the way a report would say it.
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split
from tensorflow.keras.layers import Dense, Dropout
from tensorflow.keras.models import Sequential
from tensorflow.keras.regularizers import l2

X, y = make_classification(n_samples=2000, n_features=500, n_classes=2, random_state=3)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=3)

model = Sequential([
    Dense(256, activation='relu', kernel_regularizer=l2(0.001), input_shape=(500,)),
    Dropout(0.4),
    Dense(128, activation='relu', kernel_regularizer=l2(0.001)),
    Dense(64, activation='relu', kernel_regularizer=l2(0.001)),
    Dense(1, activation='sigmoid'),
])
model.summary()
model.compile(optimizer='adam', loss='binary_crossentropy', metrics=['accuracy'])
model.fit(X_train, y_train, epochs=50, batch_size=32, validation_split=0.2, verbose=0)
results = model.evaluate(X_test, y_test, verbose=0)
print(f"The model gets {results[1]:.0%} of the test reviews right")
