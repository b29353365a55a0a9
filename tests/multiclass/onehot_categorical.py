# expect-fail:
# One-hot labels (the lesson's fix 1) with categorical_crossentropy, written with model.add.
import numpy as np
import pandas as pd
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split
from tensorflow.keras.layers import Dense, Dropout
from tensorflow.keras.models import Sequential
from tensorflow.keras.optimizers import Adam
from tensorflow.keras.regularizers import l2
from tensorflow.keras.utils import to_categorical

x, y = make_classification(n_samples=1000, n_features=784, n_classes=10, n_informative=50,
                           random_state=42)
x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, random_state=42)
y_train_encoded = to_categorical(y_train, num_classes=10)
y_test_encoded = to_categorical(y_test, num_classes=10)
print(pd.Series(y_train).value_counts().sort_index().to_dict())

model = Sequential()
model.add(Dense(128, activation='relu', kernel_regularizer=l2(0.001), input_shape=(784,)))
model.add(Dropout(0.5))
model.add(Dense(64, activation='relu', kernel_regularizer=l2(0.001)))
model.add(Dropout(0.5))
model.add(Dense(10, activation='softmax'))
model.compile(optimizer=Adam(learning_rate=0.001), loss='categorical_crossentropy',
              metrics=['accuracy'])
history = model.fit(x_train, y_train_encoded, epochs=30, batch_size=32, validation_split=0.2)
loss, acc = model.evaluate(x_test, y_test_encoded)
print("Test accuracy:", acc)
