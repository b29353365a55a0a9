"""What the trusted retrain agrees to rebuild, and the config it really trains.

Pure data and functions (no TensorFlow): the grading process uses them to refuse a model before
it is sent, and the retrain worker applies them again before it builds anything. The retrain
trains what the exercise sheet describes, from the grader's own starting point:

- only layer classes that make sense for an MLP on 500 features are rebuilt (``LAYERS``);
- initialisers are built-in ones with scalar settings; their seeds become the rubric's seed, so a
  submission cannot choose its starting weights (``Constant`` with an array is refused);
- every weight of the model is counted before anything is built.
"""

from __future__ import annotations

import copy
import math
import re

LAYERS = frozenset({
    "InputLayer", "Dense", "Dropout", "AlphaDropout", "GaussianDropout", "GaussianNoise",
    "Activation", "ReLU", "LeakyReLU", "PReLU", "ELU", "Softmax", "BatchNormalization",
    "LayerNormalization", "UnitNormalization", "ActivityRegularization", "Flatten", "Identity",
})
MODELS = frozenset({"Sequential", "Functional", "Model"})
INITIALIZERS = frozenset({
    "GlorotUniform", "GlorotNormal", "HeUniform", "HeNormal", "LecunUniform", "LecunNormal",
    "RandomUniform", "RandomNormal", "TruncatedNormal", "VarianceScaling", "Orthogonal",
    "Identity", "Zeros", "Ones", "Constant",
})
REGULARIZERS = frozenset({"L1", "L2", "L1L2", "OrthogonalRegularizer"})
CONSTRAINTS = frozenset({"MaxNorm", "MinMaxNorm", "NonNeg", "UnitNorm"})
OPTIMIZERS = frozenset({"Adam", "AdamW", "SGD", "RMSprop", "Adagrad", "Adadelta", "Adamax",
                        "Nadam", "Ftrl", "Lion", "Lamb"})
SCHEDULES = frozenset({"ExponentialDecay", "PiecewiseConstantDecay", "PolynomialDecay",
                       "InverseTimeDecay", "CosineDecay", "CosineDecayRestarts"})
LOSSES = frozenset({"BinaryCrossentropy", "BinaryFocalCrossentropy", "CategoricalCrossentropy",
                    "SparseCategoricalCrossentropy", "CategoricalFocalCrossentropy",
                    "MeanSquaredError", "MeanAbsoluteError", "MeanSquaredLogarithmicError",
                    "MeanAbsolutePercentageError", "Hinge", "SquaredHinge", "CategoricalHinge",
                    "Huber", "LogCosh", "KLDivergence", "Poisson"})
POLICIES = frozenset({"DTypePolicy", "FloatDTypePolicy"})
# Keras' own serialization markers for values, not classes (a functional model's layer inputs).
MARKERS = frozenset({"__keras_tensor__", "__tuple__", "__numpy__", "__tensor__", "__ellipsis__",
                     "__slice__"})
# Classes that run code of the submission's choosing; named in the refusal.
RUNS_CODE = frozenset({"Lambda", "TFSMLayer", "TorchModuleWrapper", "JaxLayer", "FlaxLayer"})
CLASSES = (LAYERS | MODELS | INITIALIZERS | REGULARIZERS | CONSTRAINTS | OPTIMIZERS | SCHEDULES
           | LOSSES | POLICIES)
FUNCTIONS = frozenset({  # built-in activations and losses named as functions
    "relu", "relu6", "sigmoid", "hard_sigmoid", "hard_silu", "hard_swish", "tanh", "softmax",
    "log_softmax", "softplus", "softsign", "elu", "selu", "gelu", "silu", "swish", "mish",
    "leaky_relu", "exponential", "linear", "celu", "glu", "squareplus", "sparse_plus",
    "binary_crossentropy", "binary_focal_crossentropy", "categorical_crossentropy",
    "sparse_categorical_crossentropy", "mean_squared_error", "mean_absolute_error", "mse", "mae",
    "hinge", "squared_hinge", "huber", "log_cosh", "kl_divergence", "poisson",
})
MAX_INT = 2**31 - 1
MAX_LIST = 16  # longer lists of numbers in a config are arrays of values (weights), not settings


class Refused(ValueError):
    """The config names something the grader will not rebuild; the message says what."""


def _refuse_class(name: str, module) -> None:
    if name in RUNS_CODE:
        raise Refused(f"a {name} layer runs arbitrary code, so the grader will not rebuild it")
    if module is not None and not (isinstance(module, str) and module.startswith("keras")):
        raise Refused(f"{name} (from {str(module)[:60]}) is your own class, so the grader cannot "
                      "rebuild it from its config; use the built-in Keras layers")
    if name not in CLASSES:
        raise Refused(f"the grader retrains MLPs of Dense, Dropout, activation and normalisation "
                      f"layers; it does not rebuild {name}")


def validate(node, path: str = "config") -> None:
    """Raise Refused unless every class and function in ``node`` is on the allow-list and no
    value is an array. Iterative, so a deeply nested config cannot exhaust the stack."""
    stack = [(node, path)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, list):
            if len(item) > MAX_LIST and all(isinstance(v, (int, float)) for v in item):
                raise Refused(f"{where} holds a list of {len(item)} values; the grader rebuilds "
                              "models from their settings, never from arrays of values")
            stack.extend((child, f"{where}[{i}]") for i, child in enumerate(item))
            continue
        if isinstance(item, float) and not math.isfinite(item):
            raise Refused(f"{where} is {item}")
        if isinstance(item, int) and abs(item) > MAX_INT:
            raise Refused(f"{where} is a {item.bit_length()}-bit number; the grader rebuilds "
                          "models of the exercise's size")
        if not isinstance(item, dict):
            continue
        if "class_name" in item:
            name = item.get("class_name")
            if not isinstance(name, str):
                raise Refused(f"malformed config at {where}")
            if name == "function":
                function = item.get("config")
                if function not in FUNCTIONS:
                    raise Refused(f"the function {str(function)[:60]!r} is not a built-in Keras "
                                  "activation or loss, so the grader cannot rebuild it")
            elif name not in MARKERS:
                _refuse_class(name, item.get("module"))
            if name == "Constant":
                value = (item.get("config") or {}).get("value") if isinstance(item.get("config"), dict) else None
                if not isinstance(value, (int, float)) or isinstance(value, bool):
                    raise Refused("a Constant initializer with an array of values sets the starting "
                                  "weights itself; the grader trains from its own initialisation")
        stack.extend((child, f"{where}.{key}") for key, child in item.items())


_SAFE_NAME = re.compile(r"^[A-Za-z0-9.][A-Za-z0-9_.-]{0,80}$")


def _safe_names(config: dict) -> dict:
    """The same config with every layer name TensorFlow would reject (control characters,
    spaces, slashes) replaced, consistently wherever the name is referred to."""
    names, stack = set(), [config]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            inner = item.get("config")
            if isinstance(inner, dict) and isinstance(inner.get("name"), str):
                names.add(inner["name"])
            stack.extend(item.values())
    renamed = {name: f"layer_{i}" for i, name in enumerate(sorted(names))
               if not _SAFE_NAME.match(name)}
    if not renamed:
        return config

    def walk(node):
        if isinstance(node, list):
            return [walk(item) for item in node]
        if isinstance(node, dict):
            return {key: walk(value) for key, value in node.items()}
        return renamed.get(node, node) if isinstance(node, str) else node

    return walk(config)


def for_retrain(config: dict, seed: int) -> dict:
    """A copy of ``config`` whose initializer and noise seeds come from ``seed`` (one per place,
    in order), so that the grader, not the submission, picks the starting point, and whose
    layer names TensorFlow accepts."""
    out = _safe_names(copy.deepcopy(config))
    counter = [0]
    stack = [out]
    while stack:
        item = stack.pop(0)
        if isinstance(item, list):
            stack.extend(item)
            continue
        if not isinstance(item, dict):
            continue
        inner = item.get("config")
        if isinstance(inner, dict) and "seed" in inner and item.get("class_name") in (
                INITIALIZERS | LAYERS):
            inner["seed"] = seed + counter[0]
            counter[0] += 1
        stack.extend(item.values())
    return out


def count_weights(layers, n_inputs: int) -> int:
    """Every weight of a chain of allowed layers, given (kind, units) in forward order."""
    total, width = 0, n_inputs
    for kind, units in layers:
        if kind == "Dense":
            units = units or 0
            total += width * units + units
            width = units
        elif kind == "BatchNormalization":
            total += 4 * width
        elif kind == "LayerNormalization":
            total += 2 * width
        elif kind == "PReLU":
            total += width
    return total
