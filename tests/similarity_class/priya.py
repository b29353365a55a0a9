"""Priya S.
Uses the module-style imports from the Keras docs and the sheet's l2(0.01).
"""
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split
from tensorflow.keras import layers, models, optimizers, regularizers

X, y = make_classification(n_samples=2000, n_features=500, n_classes=2, random_state=42)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=42)

model = models.Sequential(name="sentiment_mlp")
model.add(layers.Dense(256, activation="relu", input_shape=(500,),
                       kernel_regularizer=regularizers.l2(0.01)))
model.add(layers.Dropout(0.5))
model.add(layers.Dense(128, activation="relu", kernel_regularizer=regularizers.l2(0.01)))
model.add(layers.Dropout(0.5))
model.add(layers.Dense(64, activation="relu", kernel_regularizer=regularizers.l2(0.01)))
model.add(layers.Dropout(0.5))
model.add(layers.Dense(1, activation="sigmoid"))

model.compile(optimizer=optimizers.Adam(learning_rate=0.001),
              loss="binary_crossentropy",
              metrics=["accuracy"])

history = model.fit(X_train, y_train,
                    epochs=50,
                    batch_size=32,
                    validation_split=0.2)

test_loss, test_accuracy = model.evaluate(X_test, y_test)
print("Test accuracy: {:.4f}".format(test_accuracy))
