# Sami T.
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split
from tensorflow.keras.layers import Dense, Dropout
from tensorflow.keras.models import Sequential
from tensorflow.keras.optimizers import Adam
from tensorflow.keras.regularizers import l2

inputs, outputs = make_classification(n_samples=2000, n_features=500, n_classes=2, random_state=7)
in_train, in_test, out_train, out_test = train_test_split(inputs, outputs, train_size=0.8,
                                                          random_state=7)

network = Sequential()
network.add(Dense(256, activation='relu', input_dim=500, kernel_regularizer=l2(0.001)))
network.add(Dropout(0.25))
network.add(Dense(128, activation='relu', kernel_regularizer=l2(0.001)))
network.add(Dropout(0.25))
network.add(Dense(64, activation='relu', kernel_regularizer=l2(0.001)))
network.add(Dropout(0.25))
network.add(Dense(1, activation='sigmoid'))

optimizer = Adam(learning_rate=0.001)
network.compile(optimizer=optimizer, loss='binary_crossentropy', metrics=['accuracy'])
network.fit(in_train, out_train, epochs=50, batch_size=32, validation_split=0.2)

score = network.evaluate(in_test, out_test)
print('Test loss:', score[0])
print('Test accuracy:', score[1])
