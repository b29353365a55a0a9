# Ivan P.
# Wider first layer + batch norm; SGD with momentum instead of Adam.
import numpy as np
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split
from tensorflow.keras.models import Sequential
from tensorflow.keras.layers import Dense, Dropout, BatchNormalization, Input
from tensorflow.keras.optimizers import SGD
from tensorflow.keras.regularizers import l2

np.random.seed(0)
X, y = make_classification(n_samples=2000, n_features=500, n_classes=2, n_informative=60,
                           random_state=0)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.20, stratify=y,
                                                    random_state=0)

model = Sequential([Input((500,))])
model.add(Dense(512, activation='relu', kernel_regularizer=l2(0.0001)))
model.add(BatchNormalization())
model.add(Dropout(0.4))
model.add(Dense(256, activation='relu', kernel_regularizer=l2(0.0001)))
model.add(BatchNormalization())
model.add(Dropout(0.4))
model.add(Dense(128, activation='relu', kernel_regularizer=l2(0.0001)))
model.add(Dense(1, activation='sigmoid'))

model.compile(optimizer=SGD(learning_rate=0.01, momentum=0.9, nesterov=True),
              loss='binary_crossentropy', metrics=['accuracy'])
model.fit(X_train, y_train, validation_split=0.2, epochs=50, batch_size=32, verbose=0)
print("test accuracy: {:.3f}".format(model.evaluate(X_test, y_test, verbose=0)[1]))
