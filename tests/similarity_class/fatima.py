from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split
from tensorflow.keras.models import Sequential
from tensorflow.keras.layers import Dense, Dropout, Input
from tensorflow.keras.regularizers import l2
from tensorflow.keras.optimizers import Adam

X, y = make_classification(n_samples=2000, n_features=500, n_classes=2)
Xtrain, Xtest, ytrain, ytest = train_test_split(X, y, test_size=0.2)

model = Sequential()
model.add(Input(shape=(500,)))
for n in [256, 128, 64]:            # shrinking hidden layers
    model.add(Dense(n, activation="relu", kernel_regularizer=l2(0.001)))
    model.add(Dropout(0.2))
model.add(Dense(1, activation="sigmoid"))

model.compile(loss="binary_crossentropy", optimizer=Adam(learning_rate=0.001), metrics=["accuracy"])
model.fit(Xtrain, ytrain, epochs=50, batch_size=32, validation_split=0.2)

acc = model.evaluate(Xtest, ytest)[1]
print("Accuracy on the test set:", acc)
