"""The trusted retrain: rebuild a student's model from its config and train it on the grader's data.

Runs as ``python -m grader.retrain.worker SETUP_JSON``; never runs student code. Protocol: one JSON
request per line on stdin, ``{"id": n, "request": {"model_config", "loss", "optimizer", ...}}``,
answered on stdout with ``{"id": n, "progress": k, "of": epochs}`` lines and one
``{"id": n, "result": {...}}``. A newer request cancels the one in training (its result is
``{"status": "cancelled"}``): the parent may start a retrain speculatively and change its mind.
It first says ``{"ready": true, "versions": {...}}``. Library output is diverted to stderr so it
cannot corrupt the protocol.
"""

import json
import os
import queue
import sys
import threading
import time

from grader.retrain import allowlist

Refused = allowlist.Refused


class Cancelled(Exception):
    """A newer request arrived while this one was training."""


def _setup_tensorflow():
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    tf.config.experimental.enable_op_determinism()
    import keras

    return tf, keras


def _make_data(setup):
    import numpy as np
    from sklearn.datasets import make_classification
    from sklearn.model_selection import train_test_split

    data, exercise = setup["data"], setup["exercise"]
    x, y = make_classification(
        n_samples=int(exercise["n_samples"]), n_features=int(exercise["n_features"]),
        n_classes=int(exercise["n_classes"]), n_informative=int(data["n_informative"]),
        n_redundant=int(data["n_redundant"]), class_sep=float(data["class_sep"]),
        flip_y=float(data["flip_y"]), random_state=int(data["seed"]))
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=float(exercise["test_fraction"]), random_state=int(data["seed"]))
    # Keras' validation_split holds out the last part of the training data, unshuffled.
    n_fit = int(len(x_train) * (1 - float(exercise["validation_split"])))
    as32 = lambda a: np.asarray(a, dtype="float32")  # noqa: E731
    return {"fit": (as32(x_train[:n_fit]), y_train[:n_fit]), "val": (as32(x_train[n_fit:]), y_train[n_fit:]),
            "test": (as32(x_test), y_test)}


def _labels(y, outputs, loss_name, keras):
    if outputs > 1 and "sparse" not in loss_name and "categorical" in loss_name:
        return keras.utils.to_categorical(y, outputs)
    return y


def _accuracy(predictions, y, from_logits):
    import numpy as np

    predictions = np.asarray(predictions)
    if predictions.ndim == 2 and predictions.shape[1] > 1:
        labels = predictions.argmax(axis=1)
    else:
        labels = (predictions.reshape(-1) > (0.0 if from_logits else 0.5)).astype(int)
    return float((labels == np.asarray(y).reshape(-1)).mean())


def _train(request, data, tf, keras, emit, superseded):
    import numpy as np

    for part in ("model_config", "loss", "optimizer"):
        allowlist.validate(request[part], part)
    seed = int(request["seed"])
    keras.utils.set_random_seed(seed)
    config = allowlist.for_retrain(request["model_config"], seed)
    model = keras.saving.deserialize_keras_object(config, safe_mode=True)
    if not isinstance(model, keras.Model):
        raise Refused("the config is not a Keras model")
    if not model.built:
        model.build((None, int(request["n_features"])))
    limit = int(request.get("max_parameters") or 0)
    if limit and model.count_params() > limit:
        raise Refused(f"the model has {model.count_params():,} weights; the grader retrains models "
                      f"of at most {limit:,}")
    loss = keras.losses.get(request["loss"])
    optimizer = keras.optimizers.get(request["optimizer"])
    model.compile(optimizer=optimizer, loss=loss)
    outputs = int(model.outputs[0].shape[-1]) if getattr(model, "outputs", None) else 1
    loss_name = str(request.get("loss_name") or "")
    x_fit, y_fit = data["fit"]
    y_fit = _labels(y_fit, outputs, loss_name, keras)
    x_fit, y_fit = tf.constant(x_fit), tf.constant(np.asarray(y_fit, dtype="float32"))
    batch, epochs = int(request["batch_size"]), int(request["epochs"])
    n = int(x_fit.shape[0])
    steps = -(-n // batch)

    def step(order, i):
        index = order[i * batch: tf.minimum((i + 1) * batch, n)]
        return model.train_step((tf.gather(x_fit, index), tf.gather(y_fit, index)))

    @tf.function(reduce_retracing=True)
    def run_epoch(order):  # one graph call per epoch: no per-batch Python round trips
        logs = step(order, 0)
        for i in tf.range(1, steps):
            logs = step(order, i)
        return logs

    rng = np.random.default_rng(seed)
    losses = []
    for epoch in range(epochs):
        model.reset_metrics()
        logs = run_epoch(tf.constant(rng.permutation(n), dtype=tf.int32))
        losses.append(float(logs["loss"]))
        emit({"progress": epoch + 1, "of": epochs})
        if superseded():
            raise Cancelled()
        if not np.isfinite(losses[-1]):
            break
    # Logits are thresholded at 0 only when the output really is linear: Keras itself ignores
    # from_logits=True after a sigmoid.
    from_logits = bool(request.get("from_logits")) and request.get("output_activation") == "linear"
    x_test, y_test = data["test"]
    x_val, y_val = data["val"]
    return {
        "status": "ok", "epochs": len(losses), "first_loss": losses[0], "last_loss": losses[-1],
        "test_accuracy": _accuracy(model(x_test, training=False), y_test, from_logits),
        "val_accuracy": _accuracy(model(x_val, training=False), y_val, from_logits),
    }


def _read_requests(pending: queue.Queue) -> None:
    for line in sys.stdin:
        try:
            message = json.loads(line)
        except ValueError:
            continue
        if isinstance(message, dict) and "request" in message:
            pending.put(message)
    pending.put(None)


def _die_with_parent() -> None:
    """Linux: end with the grader (even on SIGKILL) instead of after the current epoch."""
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        try:
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass


def main(argv):
    _die_with_parent()
    protocol_out = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # anything a library prints goes to stderr, not into the protocol
    setup = json.loads(argv[1])
    tf, keras = _setup_tensorflow()
    data = _make_data(setup)
    pending: queue.Queue = queue.Queue()
    threading.Thread(target=_read_requests, args=(pending,), daemon=True).start()
    protocol_out.write(json.dumps({"ready": True, "versions": {"tensorflow": tf.__version__,
                                                                 "keras": keras.__version__}}) + "\n")
    while (message := pending.get()) is not None:
        ident, started = message.get("id"), time.monotonic()

        def emit(fields, ident=ident):
            protocol_out.write(json.dumps({"id": ident, **fields}) + "\n")

        try:
            result = _train(message["request"], data, tf, keras, emit, lambda: not pending.empty())
        except Cancelled:
            result = {"status": "cancelled"}
        except Refused as exc:
            result = {"status": "refused", "message": str(exc)}
        except Exception as exc:  # noqa: BLE001 - the student's config may break Keras anywhere
            lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
            last = (lines or [""])[-1]
            if last.startswith(f"{type(exc).__name__}: "):  # TensorFlow repeats the type
                last = last[len(type(exc).__name__) + 2:]
            result = {"status": "failed", "message": f"{type(exc).__name__}: {last[:300]}"}
        result["seconds"] = round(time.monotonic() - started, 2)
        emit({"result": result})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
