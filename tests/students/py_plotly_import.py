# expect-fail: runs data split hidden_layers decreasing_widths l2 dropout hidden_activations output_layer loss training prints_accuracy loss_decreases accuracy
# plotly for an interactive chart: not in the grader's environment.
import plotly.express as px
import matplotlib.pyplot as plt
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split
from tensorflow.keras.layers import Dense, Dropout
from tensorflow.keras.models import Sequential
from tensorflow.keras.regularizers import l2

print(px.colors.qualitative.Plotly[:3])
X, y = make_classification(n_samples=2000, n_features=500, n_classes=2)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2)
model = Sequential([Dense(256, activation='relu', kernel_regularizer=l2(0.001), input_shape=(500,)),
                    Dropout(0.5), Dense(128, activation='relu'), Dense(64, activation='relu'),
                    Dense(1, activation='sigmoid')])
model.compile(optimizer='adam', loss='binary_crossentropy', metrics=['accuracy'])
history = model.fit(X_train, y_train, epochs=50, batch_size=32, validation_split=0.2)
print('Test accuracy:', model.evaluate(X_test, y_test)[1])
