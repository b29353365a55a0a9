# expect-fail:
"""Regularizers as l1_l2(l1=0, l2=1e-3) and keras.regularizers.L1L2(l1=0.0, l2=1e-4)."""
from tensorflow import keras
from tensorflow.keras.layers import Dense, Dropout
from tensorflow.keras.models import Sequential
from tensorflow.keras.regularizers import l1_l2
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split

# STEP 1: data
X, y = make_classification(n_samples=2000, n_features=500, n_classes=2, random_state=42)

# STEP 2: split 80/20
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=42)

model = Sequential([
    keras.Input(shape=(500,)),
    Dense(256, activation="relu", kernel_regularizer=l1_l2(l1=0, l2=1e-3)),
    Dense(128, activation="relu", kernel_regularizer=keras.regularizers.L1L2(l1=0.0, l2=1e-4)),
    Dropout(0.3),
    Dense(64, activation="relu"),
    Dense(1, activation="sigmoid"),
])

model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])

# STEP 5: train
history = model.fit(X_train, y_train, epochs=50, batch_size=32, validation_split=0.2, verbose=0)

# STEP 6: evaluate
test_loss, test_acc = model.evaluate(X_test, y_test, verbose=0)
print(f"Test accuracy: {test_acc:.4f}")
