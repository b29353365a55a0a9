# Bilal - sentiment MLP
# I put the layers in a list because it is easier to read than model.add for every layer.

from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split
from tensorflow.keras import Input
from tensorflow.keras.layers import Dense, Dropout
from tensorflow.keras.models import Sequential
from tensorflow.keras.optimizers import Adam
from tensorflow.keras.regularizers import l2

data, labels = make_classification(n_samples=2000, n_features=500, n_classes=2,
                                   n_informative=40, random_state=1)
train_x, test_x, train_y, test_y = train_test_split(data, labels, test_size=0.2)

reg = l2(0.001)
model = Sequential([
    Input(shape=(500,)),
    Dense(256, activation="relu", kernel_regularizer=reg),
    Dropout(0.3),
    Dense(128, activation="relu", kernel_regularizer=reg),
    Dropout(0.3),
    Dense(64, activation="relu", kernel_regularizer=reg),
    Dropout(0.3),
    Dense(1, activation="sigmoid"),
])
model.summary()

model.compile(optimizer=Adam(), loss="binary_crossentropy", metrics=["accuracy"])
model.fit(train_x, train_y, epochs=50, batch_size=32, validation_split=0.2, verbose=2)

results = model.evaluate(test_x, test_y, return_dict=True, verbose=0)
print("test accuracy =", round(results["accuracy"], 3))
