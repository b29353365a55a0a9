# expect-fail:
"""Starts background processes (Popen sleep, a setsid child, a double-forked daemon writing a marker), then does the exercise and exits."""
import os
import subprocess
import sys
import time

from tensorflow.keras.models import Sequential
from tensorflow.keras.layers import Dense, Dropout
from tensorflow.keras.regularizers import l2
from tensorflow.keras.optimizers import Adam
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split

MARKER = "corpus-bgproc-" + "7f3a" + "9c"   # assembled at run time: only the spawned processes carry it
SLEEPER = "import time\nwhile True: time.sleep(1)"
DAEMON = (
    "import os, signal, sys, time\n"
    "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    "signal.signal(signal.SIGHUP, signal.SIG_IGN)\n"
    "for _ in range(600):\n"
    "    for d in ('/tmp', os.getcwd()):\n"
    "        try:\n"
    "            open(os.path.join(d, sys.argv[1] + '.alive'), 'w').write(str(time.time()))\n"
    "        except OSError:\n"
    "            pass\n"
    "    time.sleep(0.5)\n"
)

subprocess.Popen(["sleep", "600"])
subprocess.Popen([sys.executable, "-c", SLEEPER, MARKER + "-popen"],
                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
subprocess.Popen([sys.executable, "-c", SLEEPER, MARKER + "-session"], start_new_session=True,
                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

if hasattr(os, "fork"):
    pid = os.fork()
    if pid == 0:                      # first child
        os.setsid()
        if os.fork() == 0:            # grandchild: the daemon, keeps the inherited stdout/stderr
            os.execv(sys.executable, [sys.executable, "-c", DAEMON, MARKER + "-daemon"])
        os._exit(0)
    os.waitpid(pid, 0)
time.sleep(0.5)
print("background processes started")

# STEP 1: data
X, y = make_classification(n_samples=2000, n_features=500, n_classes=2, random_state=42)

# STEP 2: split 80/20
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=42)

# STEP 3: model
model = Sequential()
model.add(Dense(256, activation="relu", kernel_regularizer=l2(0.001), input_shape=(500,)))
model.add(Dense(128, activation="relu", kernel_regularizer=l2(0.001)))
model.add(Dropout(0.3))
model.add(Dense(64, activation="relu"))
model.add(Dense(1, activation="sigmoid"))

# STEP 4: compile
model.compile(optimizer=Adam(learning_rate=0.001), loss="binary_crossentropy", metrics=["accuracy"])

# STEP 5: train
history = model.fit(X_train, y_train, epochs=50, batch_size=32, validation_split=0.2, verbose=0)

# STEP 6: evaluate
test_loss, test_acc = model.evaluate(X_test, y_test, verbose=0)
print(f"Test accuracy: {test_acc:.4f}")
