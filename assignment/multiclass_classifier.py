"""Exercise: a ten-class classifier in Keras.

Each row is 784 synthetic features (think: the pixels of a 28 x 28 image) and its label is one
of ten classes, 0 to 9. Fill in every TODO below, then check your work with:

    python -m grader --exercise multiclass multiclass_classifier.py

What the grader looks for:
  - the data: make_classification with n_samples=1000, n_features=784, n_classes=10,
    n_informative=50
  - an 80/20 train/test split
  - at least 2 hidden Dense layers whose widths shrink (for example 128 -> 64), each with a
    non-linear activation
  - L2 regularization on the hidden layers and Dropout after them
  - an output layer with one unit per class, and a loss that fits your labels
  - the Adam optimizer
  - training for 30 epochs with batch_size=32, holding out 20% of the training data for validation
  - the final test accuracy printed; the grader retrains your model on its own data
"""

from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split
from tensorflow.keras.layers import Dense, Dropout
from tensorflow.keras.models import Sequential
from tensorflow.keras.optimizers import Adam
from tensorflow.keras.regularizers import l2

# STEP 1 - Generate the data.
# TODO: call make_classification for 1000 samples with 784 features, 10 classes and
#       50 informative features. It returns the features X and the integer labels y (0-9).


# STEP 2 - Split the data.
# TODO: keep 80% for training and 20% for testing with train_test_split.


# STEP 3 - Build the model.
model = Sequential()
# TODO: first hidden layer: 128 units, relu, L2 regularization (0.001), input shape (784,),
#       then Dropout(0.5).

# TODO: second hidden layer: 64 units, relu, L2 regularization, then Dropout(0.5).

# TODO: output layer. How many units, and which activation, give one probability per class?


# STEP 4 - Compile.
# TODO: Adam, and the cross-entropy that fits integer labels (or one-hot them first with
#       tensorflow.keras.utils.to_categorical and use the loss for one-hot labels).
#       Ask for the accuracy metric too.


# STEP 5 - Train.
# TODO: fit for 30 epochs with batch_size=32, and validation_split=0.2.


# STEP 6 - Evaluate.
# TODO: evaluate on the test set and print the test accuracy.
