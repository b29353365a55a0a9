from sklearn.datasets import make_classification as mc
from sklearn.model_selection import train_test_split as tts
from tensorflow.keras.models import Sequential
from tensorflow.keras.layers import Dense, Dropout
from tensorflow.keras.regularizers import l2
a, b = mc(n_samples=2000, n_features=500, n_classes=2)
a1, a2, b1, b2 = tts(a, b, test_size=.2)
m = Sequential([Dense(256, 'relu', kernel_regularizer=l2(.001), input_shape=(500,)), Dropout(.5),
                Dense(128, 'relu', kernel_regularizer=l2(.001)), Dropout(.5),
                Dense(64, 'relu', kernel_regularizer=l2(.001)), Dense(1, 'sigmoid')])
m.compile('adam', 'binary_crossentropy', metrics=['accuracy'])
m.fit(a1, b1, epochs=50, batch_size=32, validation_split=.2, verbose=0)
print('acc', m.evaluate(a2, b2, verbose=0)[1])
