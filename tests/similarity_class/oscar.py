# Oscar -- I wanted round-ish numbers that still halve each time: 300 -> 150 -> 75.
# ELU instead of ReLU because the lecture mentioned dying ReLUs.
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split
from tensorflow.keras.layers import Dense, Dropout
from tensorflow.keras.models import Sequential
from tensorflow.keras.optimizers import Adam
from tensorflow.keras.regularizers import l2

X, y = make_classification(n_samples=2000, n_features=500, n_classes=2, random_state=99)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=99)

clf = Sequential()
clf.add(Dense(300, activation="elu", kernel_regularizer=l2(0.002), input_shape=(500,)))
clf.add(Dropout(0.4))
clf.add(Dense(150, activation="elu", kernel_regularizer=l2(0.002)))
clf.add(Dropout(0.4))
clf.add(Dense(75, activation="elu", kernel_regularizer=l2(0.002)))
clf.add(Dense(1, activation="sigmoid"))

clf.compile(optimizer=Adam(learning_rate=0.0007), loss="binary_crossentropy", metrics=["accuracy"])
clf.fit(X_train, y_train, epochs=50, batch_size=32, validation_split=0.2, verbose=1)
print("Final test accuracy:", clf.evaluate(X_test, y_test, verbose=0)[1])
