"""How far apart can two retrains land that differ only in floating-point rounding?

Trains the reference model on the NumPy path twice per seed: once as the grader does, once with
the 500 input features permuted (the data's columns and the first kernel's rows alike). The two
models compute the same function in exact arithmetic; only the order of the first layer's sums
changes, so any gap in test accuracy is rounding amplified by 50 epochs of training with dropout.
That gap bounds how closely any two implementations (NumPy, JAX, TensorFlow) can agree.

``--tensorflow`` measures the same thing on the TensorFlow reference path itself (Keras' ``fit``,
the masks and shuffles the comparison uses): the reference model trained once with oneDNN's
kernels (TensorFlow's default on x86) and once with Eigen's (``TF_ENABLE_ONEDNN_OPTS=0``), each in
a process of its own because TensorFlow reads the switch when it is imported.

Usage: python benchmarks/rounding_spread.py [--seeds N] [--tensorflow]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader.core.request import RetrainRequest  # noqa: E402
from grader.retrain import mlp, worker  # noqa: E402
from grader.retrain.data import classification_data  # noqa: E402
from grader.rubric import load_rubric  # noqa: E402

SHEET = {"class_name": "Sequential", "module": "keras", "config": {"name": "sheet", "layers": [
    {"class_name": "InputLayer", "module": "keras.layers", "config": {"batch_shape": [None, 500]}},
    *[layer for units, rate in ((256, 0.5), (128, 0.3), (64, 0.0)) for layer in (
        {"class_name": "Dense", "module": "keras.layers", "config": {
            "units": units, "activation": "relu", "kernel_regularizer": {
                "class_name": "L2", "module": "keras.regularizers", "config": {"l2": 0.001}}}},
        *([{"class_name": "Dropout", "module": "keras.layers", "config": {"rate": rate}}]
          if rate else []))],
    {"class_name": "Dense", "module": "keras.layers", "config": {"units": 1, "activation": "sigmoid"}},
]}}


def request(seed: int) -> RetrainRequest:
    """The retrain request for the reference model on the grader's data and ``seed``."""
    return RetrainRequest(model_config=SHEET, loss="binary_crossentropy",
                          optimizer={"class_name": "Adam", "module": "keras.optimizers",
                                     "config": {"learning_rate": 0.001}},
                          n_features=500, seed=seed, batch_size=32, epochs=50)


def test_accuracy(keras, data, seed: int, permutation=None) -> float:
    model = worker._build(request(seed), keras)
    plan = mlp.plan(model, model.loss, model.optimizer, keras, 500)
    if permutation is not None:
        first = plan.layers[0]
        first.kernel[...] = first.kernel[permutation]
        data = {name: (x[:, permutation], y) for name, (x, y) in data.items()}
    trainer = mlp.Trainer(plan, seed)
    fit, val = data["fit"], data["val"]
    mlp.train(trainer, (fit[0], fit[1].astype("float32")), (val[0], val[1].astype("float32")),
              32, 50, seed, lambda logs: True)
    keras.backend.clear_session()
    return worker.accuracy(mlp.predict(trainer, data["test"][0]), data["test"][1], False)


def tensorflow_accuracies(seeds: list[int]) -> list[float]:
    """Child process: the reference model's test accuracy per seed on the TensorFlow path."""
    keras, _ = worker._setup_keras("tensorflow")
    rubric = load_rubric()
    data = classification_data(dict(rubric.data), dict(rubric.exercise))
    accuracies = []
    for seed in seeds:
        result = worker._train(request(seed), data, keras, lambda fields: None, lambda: False,
                               "keras")
        accuracies.append(result["test_accuracy"])
        worker._forget(keras)
    return accuracies


def in_child(seeds: list[int], onednn: bool) -> list[float]:
    env = {**os.environ, "TF_ENABLE_ONEDNN_OPTS": "1" if onednn else "0", "TF_CPP_MIN_LOG_LEVEL": "2"}
    done = subprocess.run([sys.executable, __file__, "--child", json.dumps(seeds)], env=env,
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.splitlines()[-1])


def pairs(args, seeds: list[int]):
    """(seed, first, second, what differs) for each seed."""
    if args.tensorflow:
        with_onednn, with_eigen = in_child(seeds, True), in_child(seeds, False)
        for seed, first, second in zip(seeds, with_onednn, with_eigen):
            yield seed, first, second, "TensorFlow with oneDNN vs with Eigen"
        return
    import numpy as np

    keras, _ = worker._setup_keras("jax")
    rubric = load_rubric()
    data = classification_data(dict(rubric.data), dict(rubric.exercise))
    permutation = np.random.default_rng(0).permutation(500)
    for seed in seeds:
        plain, permuted = (test_accuracy(keras, data, seed, p) for p in (None, permutation))
        yield seed, plain, permuted, "NumPy path, features permuted"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--tensorflow", action="store_true",
                        help="TensorFlow's reference path with and without oneDNN")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(tensorflow_accuracies(json.loads(args.child))))
        return 0
    first_seed = int(load_rubric().data["seed"])
    gaps = []
    for seed, first, second, what in pairs(args, list(range(first_seed, first_seed + args.seeds))):
        gaps.append(abs(first - second))
        print(f"seed {seed}: {first:.4f} vs {second:.4f} ({what})  gap {gaps[-1]:.4f}", flush=True)
    print(f"rounding alone: gap median {statistics.median(gaps):.4f}, max {max(gaps):.4f} "
          f"over {len(gaps)} seeds ({sum(g > 0.02 for g in gaps)} above 0.02)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
