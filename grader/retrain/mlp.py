"""The retrain's fast path: a plain MLP trained with NumPy, from the model Keras built.

Keras still rebuilds the model from its config and draws its initial weights; ``plan`` reads
that built model, its loss and its optimizer, and returns None for anything this module does
not reproduce exactly (the worker then trains with Keras itself). What it covers is what the
exercises ask for: a chain of Dense, Dropout and Activation layers, L1/L2 on weights, binary
cross-entropy on one output, categorical or sparse categorical cross-entropy on several (softmax
only as the last layer), and Adam, SGD or RMSprop at a fixed learning rate, with the formulas of
Keras on TensorFlow (the backend students run): any cross-entropy after a sigmoid or softmax
output is computed from that activation's logits, as ``keras.src.backend.tensorflow.nn`` does, so a
saturated output still learns (``loss``); an ``Activation("linear")`` after it returns its input
itself, so the logits stay with it.

Why: XLA compiles every new architecture for 1.5-2 s before its first step, and a class is
mostly new architectures. Here nothing is compiled per model; each step is a few
single-threaded BLAS calls, the elementwise work around ReLU and dropout is one compiled loop per
layer (``fused``), and the optimizer updates every weight through one flat buffer, in loops that
numba compiled once (``updates``).
"""

from __future__ import annotations

import contextlib
import gc
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from scipy.special import expit

from grader.retrain import fused, updates
from grader.retrain.loss import (binary_crossentropy, categorical_crossentropy, softmax,
                                 sparse_categorical_crossentropy)

F32 = np.float32
_NO_VECTOR, _NO_MATRIX = np.empty(0, F32), np.empty((0, 0), F32)  # "none" for compiled loops


def _from_logits_only(z, a):
    raise AssertionError("softmax is only the last layer, whose logits the loss takes (plan)")


_SELU_ALPHA, _SELU_SCALE = F32(1.6732632423543772), F32(1.0507009873554805)
# name -> (forward, derivative from the input z and the output a)
ACTIVATIONS: dict[str, tuple[Callable, Callable]] = {
    "linear": (lambda z: z, None),
    "relu": (lambda z: np.maximum(z, 0), lambda z, a: z > 0),
    "sigmoid": (lambda z: expit(z), lambda z, a: a * (1 - a)),
    "tanh": (np.tanh, lambda z, a: 1 - a * a),
    "elu": (lambda z: np.where(z > 0, z, np.expm1(np.minimum(z, 0))),
            lambda z, a: np.where(z > 0, F32(1), a + 1)),
    "selu": (lambda z: _SELU_SCALE * np.where(z > 0, z, _SELU_ALPHA * np.expm1(np.minimum(z, 0))),
             lambda z, a: np.where(z > 0, _SELU_SCALE, a + _SELU_SCALE * _SELU_ALPHA)),
    "softplus": (lambda z: np.logaddexp(z, F32(0)), lambda z, a: expit(z)),
    "leaky_relu": (lambda z: np.where(z > 0, z, F32(0.2) * z),
                   lambda z, a: np.where(z > 0, F32(1), F32(0.2))),
    "silu": (lambda z: z * expit(z), lambda z, a: expit(z) * (1 + z * (1 - expit(z)))),
    "softmax": (softmax, _from_logits_only),
}
# the activations whose output carries its logits on TensorFlow (``_keras_logits``): a
# cross-entropy of that output is computed from those
WITH_LOGITS = ("sigmoid", "softmax")
BINARY, CATEGORICAL, SPARSE = ("binary_crossentropy", "categorical_crossentropy",
                               "sparse_categorical_crossentropy")


@dataclass
class Dense:
    """``activation(x @ kernel + bias)``; kernel and bias are views into the model's flat weights."""

    kernel: np.ndarray
    bias: np.ndarray | None
    activation: str
    penalties: tuple = ()  # (weight index 0 kernel / 1 bias, l1, l2)


@dataclass(frozen=True)
class Activation:
    activation: str


@dataclass(frozen=True)
class Dropout:
    rate: float


@dataclass(frozen=True)
class Optimizer:
    kind: str  # adam | sgd | rmsprop
    learning_rate: float
    settings: dict = field(default_factory=dict)


@dataclass
class Plan:
    """What to train: the layers in order, the loss's settings and the optimizer's."""

    layers: list
    from_logits: bool
    label_smoothing: float
    optimizer: Optimizer
    weights: np.ndarray  # every trainable weight, flat; the layers' arrays are views into it
    loss: str = BINARY  # BINARY, CATEGORICAL or SPARSE

    @property
    def classes(self) -> int:
        """The width of the model's output."""
        return next(layer.kernel.shape[1] for layer in reversed(self.layers)
                    if isinstance(layer, Dense))


def _activation_name(function) -> str | None:
    from keras.src import activations

    names = {activations.linear: "linear", activations.relu: "relu",
             activations.sigmoid: "sigmoid", activations.tanh: "tanh", activations.elu: "elu",
             activations.selu: "selu", activations.softplus: "softplus",
             activations.leaky_relu: "leaky_relu", activations.silu: "silu",
             activations.softmax: "softmax"}
    return names.get(function)


def _penalty(regularizer, keras) -> tuple[float, float] | None:
    """(l1, l2) of a built-in L1, L2 or L1L2 regularizer; (0, 0) for none; None otherwise."""
    if regularizer is None:
        return 0.0, 0.0
    kind = type(regularizer)
    if kind not in (keras.regularizers.L1, keras.regularizers.L2, keras.regularizers.L1L2):
        return None
    return float(getattr(regularizer, "l1", 0.0) or 0.0), float(getattr(regularizer, "l2", 0.0) or 0.0)


def _is_chain(model, keras) -> bool:
    """A Sequential model, or a functional one whose layers each take the previous one's output."""
    if type(model) is keras.Sequential:
        return True
    layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    if len(model.inputs) != 1 or len(model.outputs) != 1 or not layers:
        return False
    previous = model.inputs[0]
    for layer in layers:
        nodes = layer._inbound_nodes
        inputs = list(nodes[0].arguments.keras_tensors) if len(nodes) == 1 else []
        if len(inputs) != 1 or inputs[0] is not previous:  # identity: KerasTensor's == is an op
            return False
        previous = layer.output
    return previous is model.outputs[0]


def _layer(layer, keras, n_inputs) -> object | None:
    if type(layer) is keras.layers.Dropout:
        return Dropout(float(layer.rate)) if layer.noise_shape is None else None
    if type(layer) is keras.layers.Activation:
        name = _activation_name(layer.activation)
        return Activation(name) if name else None
    if type(layer) is not keras.layers.Dense:
        return None
    name = _activation_name(layer.activation)
    kernel, bias = _penalty(layer.kernel_regularizer, keras), _penalty(layer.bias_regularizer, keras)
    if (name is None or kernel is None or bias is None or layer.activity_regularizer is not None
            or layer.kernel_constraint is not None or layer.bias_constraint is not None
            or getattr(layer, "lora_enabled", False) or getattr(layer, "quantization_mode", None)
            or layer.dtype_policy.name != "float32" or layer.kernel.shape[0] != n_inputs):
        return None
    penalties = tuple((index, l1, l2) for index, (l1, l2) in enumerate((kernel, bias)) if l1 or l2)
    return Dense(np.asarray(layer.kernel.value, dtype=F32),
                 np.asarray(layer.bias.value, dtype=F32) if layer.use_bias else None,
                 name, penalties)


def _optimizer(optimizer, keras) -> Optimizer | None:
    from keras.src.optimizers.schedules.learning_rate_schedule import LearningRateSchedule

    kind = {keras.optimizers.Adam: "adam", keras.optimizers.SGD: "sgd",
            keras.optimizers.RMSprop: "rmsprop"}.get(type(optimizer))
    if (kind is None or optimizer.weight_decay or optimizer.clipnorm or optimizer.clipvalue
            or optimizer.global_clipnorm or optimizer.use_ema or optimizer.loss_scale_factor
            or optimizer.gradient_accumulation_steps
            or isinstance(optimizer._learning_rate, LearningRateSchedule)
            or callable(optimizer._learning_rate)):
        return None
    learning_rate = float(np.asarray(optimizer.learning_rate))
    if kind == "adam":
        settings = {"beta_1": float(optimizer.beta_1), "beta_2": float(optimizer.beta_2),
                    "epsilon": float(optimizer.epsilon), "amsgrad": bool(optimizer.amsgrad)}
    elif kind == "sgd":
        settings = {"momentum": float(optimizer.momentum), "nesterov": bool(optimizer.nesterov)}
    else:
        settings = {"rho": float(optimizer.rho), "momentum": float(optimizer.momentum),
                    "epsilon": float(optimizer.epsilon), "centered": bool(optimizer.centered)}
    return Optimizer(kind, learning_rate, settings)


def _loss(loss, keras) -> tuple[str, bool, float] | None:
    """(which loss, from_logits, label_smoothing) of a binary, categorical or sparse categorical
    cross-entropy as Keras' functions or classes (over the last axis, mean over the batch, every
    class counted); else None."""
    functions = {keras.losses.binary_crossentropy: BINARY,
                 keras.losses.categorical_crossentropy: CATEGORICAL,
                 keras.losses.sparse_categorical_crossentropy: SPARSE}
    function = next((name for f, name in functions.items() if loss is f), None)
    if function is not None:
        return function, False, 0.0
    kind = {keras.losses.BinaryCrossentropy: BINARY,
            keras.losses.CategoricalCrossentropy: CATEGORICAL,
            keras.losses.SparseCategoricalCrossentropy: SPARSE}.get(type(loss))
    if (kind is None or loss.reduction != "sum_over_batch_size"
            or getattr(loss, "axis", -1) != -1 or getattr(loss, "ignore_class", None) is not None):
        return None
    return kind, bool(loss.from_logits), float(getattr(loss, "label_smoothing", 0.0))


def _passes_through(layer) -> bool:
    """Does ``layer`` return its input itself (``keras.activations.linear`` does), so that the
    logits TensorFlow attached to it stay?"""
    return isinstance(layer, Activation) and layer.activation == "linear"


def _fits_the_loss(layers: list, width: int, loss: str) -> bool:
    """Whether this module trains ``layers`` with ``loss``: binary cross-entropy on one output
    and no softmax (Keras on JAX trains a one-unit softmax, from its logits as TensorFlow), the
    categorical ones on several with a softmax (if any) as the last layer that changes its input
    (a linear Activation after it does not): its gradient is then the loss's on its logits."""
    softmax_at = [index for index, layer in enumerate(layers)
                  if getattr(layer, "activation", None) == "softmax"]
    if loss == BINARY:
        return width == 1 and not softmax_at
    last = max((index for index, layer in enumerate(layers) if not _passes_through(layer)),
               default=-1)
    return width > 1 and softmax_at in ([], [last])


def plan(model, loss, optimizer, keras, n_features: int) -> Plan | None:
    """The plan to train ``model`` (built, not yet trained) on ``n_features`` inputs with this
    module, or None when any part of it is beyond what this module reproduces (Keras then
    trains it, and words any error as Keras does)."""
    if not _is_chain(model, keras) or model.non_trainable_weights:
        return None
    layers, width = [], n_features
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        step = _layer(layer, keras, width)
        if step is None:
            return None
        if isinstance(step, Dense):
            width = step.kernel.shape[1]
        layers.append(step)
    settings, chosen = _loss(loss, keras), _optimizer(optimizer, keras)
    if settings is None or chosen is None or not _fits_the_loss(layers, width, settings[0]):
        return None
    return _make_plan(layers, settings, chosen)


def _make_plan(layers, settings, chosen) -> Plan:
    """Copy every Dense layer's arrays into one flat buffer and point the layers at it."""
    dense = [layer for layer in layers if isinstance(layer, Dense)]
    weights = np.concatenate([a.reshape(-1) for d in dense for a in (d.kernel, d.bias)
                              if a is not None]).astype(F32)
    for layer, (kernel, bias) in zip(dense, _dense_views(dense, weights)):
        layer.kernel, layer.bias = kernel, bias
    kind, from_logits, label_smoothing = settings
    return Plan(layers, from_logits, label_smoothing, chosen, weights, kind)


def _dense_views(layers, flat: np.ndarray) -> list[tuple]:
    """Per Dense layer, (kernel, bias or None) as views of ``flat``, laid out as the weights."""
    pairs, start = [], 0
    for layer in layers:
        if isinstance(layer, Dense):
            pair = []
            for array in (layer.kernel, layer.bias):
                if array is not None:
                    pair.append(flat[start:start + array.size].reshape(array.shape))
                    start += array.size
                else:
                    pair.append(None)
            pairs.append(tuple(pair))
    return pairs


def _segments(dense: list) -> dict:
    """Per Dense layer (by id), its segments of the flat weights, its kernel and its bias: (their
    bounds in flat indices, their L1 factors, twice their L2 factors, since the L2 gradient is
    that times the weight)."""
    segments, start = {}, 0
    for layer in dense:
        factors = {index: (l1, l2) for index, l1, l2 in layer.penalties}
        bounds, l1, twice_l2 = [start], [], []
        for index, array in enumerate((layer.kernel, layer.bias)):
            if array is not None:
                start += array.size
                bounds.append(start)
                l1_factor, l2_factor = factors.get(index, (0.0, 0.0))
                l1.append(F32(l1_factor))
                twice_l2.append(F32(2) * F32(l2_factor))
        segments[id(layer)] = (np.array(bounds, np.int64), np.array(l1, F32),
                               np.array(twice_l2, F32))
    return segments


def dropout_scale(generator: np.random.Generator, shape, rate: float) -> np.ndarray:
    """What dropout multiplies by: 0 for a dropped unit, 1 / (1 - rate) for a kept one (Keras'
    inverted dropout), drawn uniform below the keep probability as ``jax.random.bernoulli``."""
    keep = F32(1 - rate)
    draws = generator.random(shape, dtype=F32)
    return fused.keep_scale(draws, keep) if keep > 0 else np.zeros_like(draws)


def dropout_generator(seed: int) -> np.random.Generator:
    """Where the dropout masks come from, layer by layer and step by step (the TensorFlow
    reference path draws from the same one)."""
    return np.random.default_rng([seed, 1])


class _Optimizer:
    """Keras' update rule for ``optimizer``, applied in place to segments of the flat weights
    with the regularisers' gradient (``updates``: compiled loops)."""

    def __init__(self, optimizer: Optimizer, size: int):
        self.kind, self.settings = optimizer.kind, optimizer.settings
        self.lr = F32(optimizer.learning_rate)
        self.steps = 0
        s, none = self.settings, np.empty(0, F32)
        slot = lambda wanted: np.zeros(size, F32) if wanted else none  # noqa: E731
        if self.kind == "adam":
            self.slots = (slot(True), slot(True), slot(s["amsgrad"]))
            self._update, self._settings = updates.adam, None  # the step fixes alpha
        elif self.kind == "sgd":
            self.slots = (slot(s["momentum"] > 0),)
            self._update = updates.sgd
            self._settings = (self.lr, F32(s["momentum"]), bool(s["nesterov"]))
        else:
            self.slots = (slot(True), slot(s["momentum"] > 0), slot(s["centered"]))
            self._update = updates.rmsprop
            self._settings = (self.lr, F32(s["rho"]), F32(1 - s["rho"]), F32(s["momentum"]),
                              F32(s["epsilon"]))

    def start_step(self) -> None:
        """Count the step, and fix this step's settings (Adam's bias correction)."""
        self.steps += 1
        if self.kind == "adam":
            s = self.settings
            step, beta_1, beta_2 = F32(self.steps), F32(s["beta_1"]), F32(s["beta_2"])
            alpha = self.lr * np.sqrt(F32(1) - beta_2 ** step) / (F32(1) - beta_1 ** step)
            self._settings = (F32(alpha), F32(1 - s["beta_1"]), F32(1 - s["beta_2"]),
                              F32(s["epsilon"]))

    def apply(self, weights, grads, segments: tuple) -> None:
        """This step's update of the weights in ``segments``: (their bounds in ``weights``' flat
        indices, their L1 factors, twice their L2 ones)."""
        self._update(weights, grads, *segments, *self.slots, *self._settings)


class Trainer:
    """Trains a ``Plan`` in place: forward and backward passes by hand, Keras' loss, metrics and
    update rules, dropout masks from a generator seeded by the grader."""

    def __init__(self, plan: Plan, seed: int):
        self.plan = plan
        self.grads = np.zeros_like(plan.weights)
        dense = [layer for layer in plan.layers if isinstance(layer, Dense)]
        self.grad_of = dict(zip(map(id, dense), _dense_views(dense, self.grads)))
        # each layer is updated once its gradient is known: what it needs is still in the cache
        self.segments = _segments(dense)
        self.regularised = {key for key, (_, l1, twice_l2) in self.segments.items()
                            if l1.any() or twice_l2.any()}
        self._penalty = None  # of the current weights, once known
        self.optimizer = _Optimizer(plan.optimizer, plan.weights.size)
        self.dropout = dropout_generator(seed)
        self.logits = None  # (layer index, logits) of the last forward pass's sigmoid/softmax
        smoothing = self.plan.label_smoothing
        # Keras' smoothed one-hot targets: ``t * (1 - s) + s / classes``, in float32
        self._smoothing = ((F32(1 - smoothing), F32(smoothing) / F32(plan.classes))
                           if plan.loss == CATEGORICAL else None)

    def forward(self, x, training: bool, caches: list | None = None):
        """The outputs for ``x``; ``self.logits`` is what the last layer's sigmoid or softmax was
        applied to when nothing changed its output after it (a linear Activation and a Dropout
        outside training return it itself; TensorFlow-Keras then computes the loss from those
        logits: ``_get_logits`` in its ``nn``), else None."""
        self.logits = None
        for index, layer in enumerate(self.plan.layers):
            if isinstance(layer, Dense):
                z = x @ layer.kernel
                if layer.activation == "relu":
                    a = fused.bias_relu(z, _NO_VECTOR if layer.bias is None else layer.bias)
                else:
                    if layer.bias is not None:
                        z += layer.bias
                    a = ACTIVATIONS[layer.activation][0](z)
                if caches is not None:
                    caches.append((x, z, a))
                self.logits = (index, z) if layer.activation in WITH_LOGITS else None
                x = a
            elif isinstance(layer, Activation):
                a = ACTIVATIONS[layer.activation][0](x)
                if caches is not None:
                    caches.append((x, a))
                if not _passes_through(layer):
                    self.logits = (index, x) if layer.activation in WITH_LOGITS else None
                x = a
            elif training and layer.rate > 0:
                scale = dropout_scale(self.dropout, x.shape, layer.rate)
                if caches is not None:
                    caches.append(scale)
                x = x * scale
                self.logits = None
            elif caches is not None:
                caches.append(None)
        return x

    def penalty(self) -> float:
        """The regularisers' share of the loss, with the current weights (``step`` sums it for
        the next step, layer by layer as it updates them)."""
        if self._penalty is None:
            self._penalty = F32(sum(updates.penalty(self.plan.weights, *self.segments[key])
                                    for key in self.regularised))
        return self._penalty

    def loss(self, outputs, y) -> tuple[float, np.ndarray, int]:
        """The plan's cross-entropy averaged over the batch, its gradient, and how many rows the
        outputs got right (Keras' ``accuracy`` for that loss). The gradient is for ``outputs``,
        or for the logits of the sigmoid or softmax that made them (``self.logits``), from which
        TensorFlow-Keras computes the loss whatever ``from_logits`` says."""
        inputs, from_logits = outputs, self.plan.from_logits
        if self.logits is not None:
            inputs, from_logits = self.logits[1], True
        gradient = np.empty_like(inputs)
        if self.plan.loss == BINARY:
            loss, right = binary_crossentropy(inputs, y, from_logits,
                                              F32(self.plan.label_smoothing), gradient, outputs)
        elif self.plan.loss == CATEGORICAL:
            loss, right = categorical_crossentropy(inputs, y, from_logits, *self._smoothing,
                                                   gradient, outputs)
        else:
            loss, right = sparse_categorical_crossentropy(inputs, y, from_logits, gradient,
                                                          outputs)
        return loss, gradient, right

    def step(self, x, y) -> tuple[float, int]:
        """One optimizer step on a batch; its loss (with the penalties) and the rows it got
        right."""
        caches: list = []
        outputs = self.forward(x, True, caches)
        loss, g, right = self.loss(outputs, y)
        # the gradient is already the logits' one below the sigmoid (softmax) that made them
        past_sigmoid = self.logits[0] if self.logits is not None else None
        loss = loss + self.penalty()
        self.optimizer.start_step()
        next_penalty = 0.0
        scale = None  # a dropout's, applied when the layer below it is reached
        for index in range(len(self.plan.layers) - 1, -1, -1):
            layer, cache = self.plan.layers[index], caches[index]
            if isinstance(layer, Dropout):
                if cache is not None:
                    g, scale = (g if scale is None else g * scale), cache
                continue
            if isinstance(layer, Dense):
                inputs, z, a = cache
                kernel_grad, bias_grad = self.grad_of[id(layer)]
                if layer.activation == "relu" and z.shape[1] > 1:  # one compiled loop
                    fused.relu_backward(g, z, _NO_MATRIX if scale is None else scale,
                                        _NO_VECTOR if bias_grad is None else bias_grad)
                else:
                    if scale is not None:
                        g = g * scale
                    derivative = ACTIVATIONS[layer.activation][1]
                    if derivative is not None and index != past_sigmoid:
                        g = g * derivative(z, a)
                    if bias_grad is not None:
                        g.sum(axis=0, out=bias_grad)
                scale = None
                np.matmul(inputs.T, g, out=kernel_grad)
                if index:
                    g = g @ layer.kernel.T
                # Keras updates every weight after every gradient; a layer's update changes
                # nothing the layers below still need, so it can come now, bit for bit the same
                segments = self.segments[id(layer)]
                self.optimizer.apply(self.plan.weights, self.grads, segments)
                if id(layer) in self.regularised:
                    next_penalty += updates.penalty(self.plan.weights, *segments)
            else:  # Activation
                if scale is not None:
                    g, scale = g * scale, None
                derivative = ACTIVATIONS[layer.activation][1]
                if derivative is not None and index != past_sigmoid:
                    g = g * derivative(*cache)
        self._penalty = F32(next_penalty)
        return loss, right

    def evaluate(self, x, y) -> dict:
        outputs = self.forward(x, False)
        loss, _, right = self.loss(outputs, y)
        return {"loss": float(loss + self.penalty()), "accuracy": right / len(y)}


@contextlib.contextmanager
def _computing():
    """BLAS on one thread (two workers use two cores), overflow left to the loss (as in Keras),
    and Python's cycle collector paused: the loop makes no cycles, but the collector's passes
    over the worker's million Keras and JAX objects cost ~20% of a retrain."""
    from threadpoolctl import threadpool_limits

    collecting = gc.isenabled()
    gc.disable()
    try:
        with threadpool_limits(1), np.errstate(all="ignore"):
            yield
    finally:
        if collecting:
            gc.enable()


def train(trainer: Trainer, fit, val, batch: int, epochs: int, seed: int, on_epoch) -> None:
    """Keras ``fit`` as the worker runs it: shuffle each epoch (NumPy generator seeded with
    ``seed``), mini-batches, running-mean loss and accuracy, then the validation ones."""
    x, y = fit
    y = np.asarray(y, dtype=F32)
    if trainer.plan.loss == SPARSE:  # the loss loop reads a row's score at each label
        for labels in (y, val[1]):
            check_labels(labels, trainer.plan.classes)
    n = len(x)
    order_rng = np.random.default_rng(seed)
    with _computing():
        for _ in range(epochs):
            order = order_rng.permutation(n)
            loss_sum = correct = 0.0
            for start in range(0, n, batch):
                rows = order[start:start + batch]
                loss, right = trainer.step(x[rows], y[rows])
                loss_sum += float(loss) * len(rows)
                correct += right
            validation = trainer.evaluate(*val)
            logs = {"loss": loss_sum / n, "accuracy": correct / n,
                    **{f"val_{key}": value for key, value in validation.items()}}
            if not on_epoch(logs):
                break


def check_labels(labels, classes: int) -> None:
    """Refuse integer labels outside [0, classes), in TensorFlow's words: its sparse
    cross-entropy fails on them (JAX's would train on, and the NumPy loss loop would read past
    the row): ``train`` calls it, and the worker before a sparse loss trains on any engine."""
    labels = np.asarray(labels)
    outside = labels[(labels < 0) | (labels >= classes) | (labels != labels)]
    if outside.size:
        raise ValueError(f"Received a label value of {outside[0]:g} which is outside the valid "
                         f"range of [0, {classes}).")


def predict(trainer: Trainer, x) -> np.ndarray:
    with _computing():
        return trainer.forward(np.asarray(x, dtype=F32), False)


def precompile() -> None:
    """Compile (or load) every numba loop once, on tiny arrays: an image build calls this so
    that no grading pays numba's compiler."""
    weights, none = np.zeros(4, F32), np.empty(0, F32)
    segments = (np.array([0, 4]), np.zeros(1, F32), np.zeros(1, F32))
    slot = lambda: np.zeros(4, F32)  # noqa: E731
    updates.penalty(weights, *segments)
    updates.adam(weights, slot(), *segments, slot(), slot(), none, F32(0), F32(0), F32(0), F32(1))
    updates.sgd(weights, slot(), *segments, none, F32(0), F32(0), False)
    updates.rmsprop(weights, slot(), *segments, slot(), none, none, F32(0), F32(0), F32(0), F32(0),
                    F32(1))
    outputs = np.full((2, 1), F32(0.5))
    scores = softmax(np.zeros((2, 3), F32))
    for from_logits in (False, True):
        binary_crossentropy(outputs, np.zeros(2, F32), from_logits, F32(0), np.empty_like(outputs),
                            outputs)
        categorical_crossentropy(scores, np.eye(2, 3, dtype=F32), from_logits, F32(1), F32(0),
                                 np.empty_like(scores), scores)
        sparse_categorical_crossentropy(scores, np.zeros(2, F32), from_logits,
                                        np.empty_like(scores), scores)
    matrix = lambda: np.zeros((2, 4), F32)  # noqa: E731
    for bias, scale in ((none, _NO_MATRIX), (slot(), matrix())):
        fused.bias_relu(matrix(), bias)
        fused.relu_backward(matrix(), matrix(), scale, bias)
    fused.keep_scale(matrix(), F32(0.5))
