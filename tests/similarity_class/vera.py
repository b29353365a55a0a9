"""Vera L. -- binary sentiment network."""
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split
from tensorflow.keras.layers import Dense, Dropout
from tensorflow.keras.models import Sequential
from tensorflow.keras.optimizers import Adam
from tensorflow.keras.regularizers import l2


def get_dataset(rs=42):
    """Make the data and split it."""
    feats, labels = make_classification(n_samples=2000, n_features=500, n_classes=2, random_state=rs)
    return train_test_split(feats, labels, test_size=0.2, random_state=rs)


def dense_block(n, is_input=False):
    """Dense + L2."""
    kw = {"input_shape": (500,)} if is_input else {}
    return Dense(n, activation="relu", kernel_regularizer=l2(0.001), **kw)


def make_network():
    net = Sequential()
    net.add(dense_block(256, is_input=True))
    net.add(Dropout(0.5))
    net.add(dense_block(128))
    net.add(Dropout(0.5))
    net.add(dense_block(64))
    net.add(Dense(1, activation="sigmoid"))
    net.compile(optimizer=Adam(learning_rate=0.001), loss="binary_crossentropy",
                metrics=["accuracy"])
    return net


def show_results(net, feats_test, labels_test):
    test_loss, test_acc = net.evaluate(feats_test, labels_test, verbose=0)
    print("-" * 40)
    print(f"loss on test set     : {test_loss:.4f}")
    print(f"accuracy on test set : {test_acc:.4f}")
    print("-" * 40)
    return test_acc


feats_train, feats_test, labels_train, labels_test = get_dataset()
network = make_network()
training = network.fit(feats_train, labels_train, epochs=50, batch_size=32, validation_split=0.2, verbose=0)
for ep in (0, 24, 49):
    print(f"epoch {ep + 1:2d}: loss {training.history['loss'][ep]:.4f}, "
          f"val_loss {training.history['val_loss'][ep]:.4f}")
show_results(network, feats_test, labels_test)
