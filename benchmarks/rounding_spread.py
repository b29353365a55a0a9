"""How far apart can two retrains land that differ only in floating-point rounding?

Trains the reference model on the NumPy path twice per seed: once as the grader does, once with
the 500 input features permuted (the data's columns and the first kernel's rows alike). The two
models compute the same function in exact arithmetic; only the order of the first layer's sums
changes, so any gap in test accuracy is rounding amplified by 50 epochs of training with dropout.
That gap bounds how closely any two implementations (NumPy, JAX, TensorFlow) can agree.

Usage: python benchmarks/rounding_spread.py [--seeds N]
"""

import argparse
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader.retrain import mlp, worker  # noqa: E402
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


def test_accuracy(keras, data, seed: int, permutation=None) -> float:
    request = {"model_config": SHEET, "loss": "binary_crossentropy",
               "optimizer": {"class_name": "Adam", "module": "keras.optimizers",
                             "config": {"learning_rate": 0.001}},
               "n_features": 500, "seed": seed}
    model = worker._build(request, keras)
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=8)
    args = parser.parse_args()
    import numpy as np

    keras, _ = worker._setup_keras("jax")
    rubric = load_rubric()
    data = worker.make_data(dict(rubric.data), dict(rubric.exercise))
    permutation = np.random.default_rng(0).permutation(500)
    gaps = []
    for seed in range(int(rubric.data["seed"]), int(rubric.data["seed"]) + args.seeds):
        plain, permuted = (test_accuracy(keras, data, seed, p) for p in (None, permutation))
        gaps.append(abs(plain - permuted))
        print(f"seed {seed}: {plain:.4f} vs {permuted:.4f} (features permuted)  gap {gaps[-1]:.4f}",
              flush=True)
    print(f"rounding alone: gap median {statistics.median(gaps):.4f}, max {max(gaps):.4f} "
          f"over {len(gaps)} seeds ({sum(g > 0.02 for g in gaps)} above 0.02)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
