# expect-fail:
"""A notebook-style script: pandas and seaborn imported by habit at the top, the data looked at as
a DataFrame, the history plotted with seaborn (as public Keras notebooks do)."""
import numpy as np
import pandas as pd
import seaborn as sns
import matplotlib.pyplot as plt
import tensorflow as tf
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split

X, y = make_classification(n_samples=2000, n_features=500, n_classes=2, random_state=42)
df = pd.DataFrame(X[:, :5], columns=[f"f{i}" for i in range(5)])
df["label"] = y
print(df.describe().T.head())
print(df["label"].value_counts(normalize=True))

X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=42)

model = tf.keras.Sequential([
    tf.keras.layers.Input(shape=(500,)),
    tf.keras.layers.Dense(256, activation="relu", kernel_regularizer=tf.keras.regularizers.l2(0.001)),
    tf.keras.layers.Dropout(0.5),
    tf.keras.layers.Dense(128, activation="relu", kernel_regularizer=tf.keras.regularizers.l2(0.001)),
    tf.keras.layers.Dropout(0.3),
    tf.keras.layers.Dense(64, activation="relu", kernel_regularizer=tf.keras.regularizers.l2(0.001)),
    tf.keras.layers.Dense(1, activation="sigmoid"),
])
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
history = model.fit(X_train, y_train, epochs=50, batch_size=32, validation_split=0.2, verbose=0)

curves = pd.DataFrame(history.history)
curves["epoch"] = np.arange(1, len(curves) + 1)
sns.set_theme(style="whitegrid")
sns.lineplot(data=curves.melt("epoch", ["loss", "val_loss"]), x="epoch", y="value",
             hue="variable")
plt.savefig("curves.png")

loss, accuracy = model.evaluate(X_test, y_test, verbose=0)
print(f"Test accuracy: {accuracy:.2%}")
