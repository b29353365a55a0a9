"""Exercise: a binary "movie review sentiment" classifier in Keras.

Each review is stood in for by 500 synthetic features (think: a review's word embedding), and the
label says whether the review is positive (1) or negative (0). Fill in every TODO below, then
check your work with:

    python -m grader sentiment_classifier.py

What the grader looks for:
  - the data: make_classification with n_samples=2000, n_features=500, n_classes=2
  - an 80/20 train/test split
  - at least 3 hidden Dense layers whose widths shrink (for example 256 -> 128 -> 64),
    each with a non-linear activation
  - L2 regularization on the hidden layers and Dropout between them
  - an output layer and a loss that suit a yes/no question
  - training for 50 epochs with batch_size=32, holding out 20% of the training data for validation
  - the final test accuracy printed; the grader retrains your model and expects more than 70%
"""

from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split
from tensorflow.keras.layers import Dense, Dropout
from tensorflow.keras.models import Sequential
from tensorflow.keras.optimizers import Adam
from tensorflow.keras.regularizers import l2

# STEP 1 - Generate the data.
# TODO: call make_classification for 2000 samples with 500 features and 2 classes.
#       It returns the features X and the labels y.


# STEP 2 - Split the data.
# TODO: keep 80% for training and 20% for testing with train_test_split.


# STEP 3 - Build the model.
model = Sequential()
# TODO: first hidden layer: 256 units, relu, L2 regularization (0.001), and the input shape (500,).

# TODO: second hidden layer: 128 units, followed by Dropout.

# TODO: third hidden layer: 64 units.

# TODO: output layer. How many units, and which activation, answer a yes/no question?


# STEP 4 - Compile.
# TODO: pick an optimizer (Adam is a good start) and the loss that fits binary classification.
#       Ask for the accuracy metric too.


# STEP 5 - Train.
# TODO: fit for 50 epochs with batch_size=32, and validation_split=0.2.


# STEP 6 - Evaluate.
# TODO: evaluate on the test set and print the test accuracy.
