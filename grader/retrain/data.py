"""The grader's own data for an exercise built on ``make_classification``: its rubric table,
the rubric's checks on it, and the arrays the trusted retrain trains on.

An exercise names its data maker (``Exercise.data_maker``, ``"module:function"``); this is the one
the exercises of this repository use, with their own sizes and arguments from their rubrics.
"""

from __future__ import annotations

from dataclasses import dataclass

from grader.core.rubric import POSITIVE, POSITIVE_INT, Data, Rule, rule


@dataclass(frozen=True, eq=True)
class ClassificationData(Data):
    """``make_classification``'s arguments beside the seed."""

    n_informative: int = rule(POSITIVE_INT, "informative features")
    n_redundant: int = rule(Rule(int, 0), "redundant features")
    class_sep: float = rule(POSITIVE, "class separation")
    flip_y: float = rule(Rule(float, 0, 1), "share of labels flipped at random")


def classification_problems(parameters, data: ClassificationData) -> list[str]:
    """What ``make_classification`` would refuse, said as the rubric's keys."""
    problems = []
    if data.n_informative + data.n_redundant > parameters.n_features:
        problems.append(f"data.n_informative + data.n_redundant must be <= exercise.n_features "
                        f"({parameters.n_features}). Received: {data.n_informative} + "
                        f"{data.n_redundant}")
    if parameters.n_classes * 2 > 2 ** min(data.n_informative, 30):
        problems.append(f"data.n_informative must be >= log2(2 * exercise.n_classes) for "
                        f"make_classification. Received: n_informative={data.n_informative}")
    return problems


def classification_data(data: dict, exercise: dict) -> dict:
    """The grader's data: fit, validation (the last part of the training split, as Keras'
    ``validation_split`` takes it) and test arrays, float32."""
    import numpy as np
    from sklearn.datasets import make_classification
    from sklearn.model_selection import train_test_split

    x, y = make_classification(
        n_samples=int(exercise["n_samples"]), n_features=int(exercise["n_features"]),
        n_classes=int(exercise["n_classes"]), n_informative=int(data["n_informative"]),
        n_redundant=int(data["n_redundant"]), class_sep=float(data["class_sep"]),
        flip_y=float(data["flip_y"]), random_state=int(data["seed"]))
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=float(exercise["test_fraction"]), random_state=int(data["seed"]))
    n_fit = int(len(x_train) * (1 - float(exercise["validation_split"])))
    as32 = lambda a: np.asarray(a, dtype="float32")  # noqa: E731
    return {"fit": (as32(x_train[:n_fit]), y_train[:n_fit]),
            "val": (as32(x_train[n_fit:]), y_train[n_fit:]), "test": (as32(x_test), y_test)}


def data_maker(reference: str):
    """The function a ``"module:function"`` reference names (an exercise's data maker)."""
    import importlib

    module, _, name = reference.partition(":")
    return getattr(importlib.import_module(module), name)
