"""The retrain's stress corpus: models, losses and optimizers that real Keras code compiles, chosen
where the fast path and TensorFlow are most likely to part (issues 22 and 25).

Each configuration is what a student's script would compile for one exercise (``exercise``: the
sentiment sheet's by default, or the lesson's ten-class ``multiclass``); the grader retrains it
with that exercise's protocol (its rubric's batch size, epochs and data), and
``benchmarks/stress_parity.py`` compares the verdicts. ``build`` makes the Keras model on the
exercise's inputs, so the config the grader receives is the one Keras serializes, not one written
by hand.

Class weights and sample weights are not part of any configuration: the grader's protocol
(``grader.pipeline.training_request``) sends the model config, the loss, the optimizer, the
sheet's batch size and epochs and the grader's data, never ``fit``'s arguments, so a script's
``class_weight`` or ``sample_weight`` does not reach the retrain (keras-io's class-imbalance
example below is retrained without its class weights, as the grader retrains it). What does
reach it from ``fit`` is the labels' width: a configuration compiled with
``categorical_crossentropy`` trains on one-hot labels (``one_hot_labels``), as the lesson's
``to_categorical`` fix makes them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Dense:
    units: int
    activation: str = "relu"
    l2: float = 0.0  # the kernel's L2 factor; 0: no regularizer


@dataclass(frozen=True)
class Dropout:
    rate: float


@dataclass(frozen=True)
class Activation:
    activation: str


@dataclass(frozen=True)
class BatchNormalization:
    pass


@dataclass(frozen=True)
class Loss:
    """A loss as the script names it: ``kind`` alone is the string form (``"binary_crossentropy"``);
    with ``as_class`` the Keras class with ``from_logits`` and ``label_smoothing``."""

    kind: str = "binary_crossentropy"
    as_class: bool = False
    from_logits: bool = False
    label_smoothing: float = 0.0


@dataclass(frozen=True)
class Optimizer:
    kind: str  # a keras.optimizers class name: Adam, SGD, RMSprop, AdamW, Adagrad
    learning_rate: float
    momentum: float = 0.0  # SGD only
    nesterov: bool = False  # SGD only


@dataclass(frozen=True)
class StressConfig:
    name: str
    layers: tuple
    loss: Loss
    optimizer: Optimizer
    source: str  # what real code it stands for
    not_yet_run: str = ""  # why the worker cannot train it yet ("" when it can)
    exercise: str = "sentiment"  # the exercise it is graded under (its rubric's data and protocol)

    @property
    def one_hot_labels(self) -> bool:
        """Does the script train on one-hot labels? ``categorical_crossentropy`` takes them (the
        lesson's ``to_categorical``); every other loss here takes the integer labels."""
        return self.loss.kind == "categorical_crossentropy"


def build(config: StressConfig, keras, n_features: int):
    """The compiled Keras model of ``config`` on ``n_features`` inputs (its exercise's), as the
    student's script makes it."""
    layers = [keras.Input(shape=(n_features,))]
    for layer in config.layers:
        if isinstance(layer, Dense):
            layers.append(keras.layers.Dense(
                layer.units, activation=layer.activation,
                kernel_regularizer=keras.regularizers.L2(layer.l2) if layer.l2 else None))
        elif isinstance(layer, Dropout):
            layers.append(keras.layers.Dropout(layer.rate))
        elif isinstance(layer, Activation):
            layers.append(keras.layers.Activation(layer.activation))
        else:
            layers.append(keras.layers.BatchNormalization())
    model = keras.Sequential(layers, name=config.name.replace(" ", "_")[:60] or None)
    loss = config.loss
    if loss.as_class:
        classes = {"binary_crossentropy": keras.losses.BinaryCrossentropy,
                   "categorical_crossentropy": keras.losses.CategoricalCrossentropy,
                   "sparse_categorical_crossentropy": keras.losses.SparseCategoricalCrossentropy}
        settings = {"from_logits": loss.from_logits}
        if loss.kind != "sparse_categorical_crossentropy":
            settings["label_smoothing"] = loss.label_smoothing
        compiled_loss = classes[loss.kind](**settings)
    else:
        compiled_loss = loss.kind
    spec = config.optimizer
    settings = {"learning_rate": spec.learning_rate}
    if spec.kind == "SGD":
        settings.update(momentum=spec.momentum, nesterov=spec.nesterov)
    model.compile(optimizer=getattr(keras.optimizers, spec.kind)(**settings), loss=compiled_loss,
                  metrics=["accuracy"])
    return model


# ---------------------------------------------------------------- the corpus

def _sheet(activation: str = "relu", output: tuple = (Dense(1, "sigmoid"),)) -> tuple:
    """The sheet's model: 256-128-64 with L2(1e-3), Dropout 0.5 and 0.3, then ``output``."""
    return (Dense(256, activation, 1e-3), Dropout(0.5), Dense(128, activation, 1e-3), Dropout(0.3),
            Dense(64, activation, 1e-3), *output)


SHEET = _sheet()
BCE = Loss()
SIGMOID = (Dense(1, "sigmoid"),)
LINEAR = (Dense(1, "linear"),)
# keras-io's "Imbalanced classification: credit card fraud detection" (class weights not sent)
KERAS_IO_IMBALANCE = (Dense(256), Dense(256), Dropout(0.3), Dense(256), Dropout(0.3), *SIGMOID)
WIDE = (Dense(512), Dense(256), Dense(128), *SIGMOID)  # no L2, no dropout
THREE_256 = (Dense(256), Dense(256), Dense(256), *SIGMOID)


def _rates(kind: str, rates, **settings) -> list[StressConfig]:
    label = kind + ("(nesterov)" if settings.get("nesterov") else
                    "(momentum)" if settings.get("momentum") else "")
    return [StressConfig(f"sheet {label} {rate:g}", SHEET, BCE, Optimizer(kind, rate, **settings),
                         "the sheet's model with another optimizer or learning rate")
            for rate in rates]


# The lesson's "Architecture 2" (the multiclass exercise's reference): 128-64 relu with L2(1e-3),
# Dropout 0.5 after each, then ``output``
def _architecture_2(output: tuple = (Dense(10, "softmax"),)) -> tuple:
    return (Dense(128, "relu", 1e-3), Dropout(0.5), Dense(64, "relu", 1e-3), Dropout(0.5), *output)


SPARSE = Loss("sparse_categorical_crossentropy")
TEN_LOGITS = (Dense(10, "linear"),)


def _ten_classes(name: str, layers: tuple, loss: Loss, optimizer: Optimizer,
                 source: str) -> StressConfig:
    """A configuration of the multiclass exercise; every name starts with "10 classes"."""
    return StressConfig(f"10 classes {name}", layers, loss, optimizer, source,
                        exercise="multiclass")


MULTICLASS: tuple[StressConfig, ...] = (
    _ten_classes("reference sparse Adam 1e-3", _architecture_2(), SPARSE, Optimizer("Adam", 1e-3),
                 "the exercise's reference: Architecture 2, integer labels"),
    _ten_classes("one-hot categorical Adam 1e-3", _architecture_2(),
                 Loss("categorical_crossentropy"), Optimizer("Adam", 1e-3),
                 "the lesson's fix: to_categorical labels and categorical_crossentropy"),
    _ten_classes("logits sparse from_logits", _architecture_2(TEN_LOGITS),
                 Loss("sparse_categorical_crossentropy", as_class=True, from_logits=True),
                 Optimizer("Adam", 1e-3),
                 "Dense(10) and SparseCategoricalCrossentropy(from_logits=True), as TensorFlow's "
                 "tutorials"),
    _ten_classes("logits one-hot from_logits", _architecture_2(TEN_LOGITS),
                 Loss("categorical_crossentropy", as_class=True, from_logits=True),
                 Optimizer("Adam", 1e-3), "Dense(10), one-hot labels, from_logits=True"),
    _ten_classes("label smoothing 0.1", _architecture_2(),
                 Loss("categorical_crossentropy", as_class=True, label_smoothing=0.1),
                 Optimizer("Adam", 1e-3), "CategoricalCrossentropy(label_smoothing=0.1)"),
    *(_ten_classes(f"Adam {rate:g}", _architecture_2(), SPARSE, Optimizer("Adam", rate),
                   "the reference with another learning rate") for rate in (1e-4, 1e-2, 0.1)),
    _ten_classes("SGD(momentum) 0.01", _architecture_2(), SPARSE, Optimizer("SGD", 0.01, 0.9),
                 "SGD(0.01, momentum=0.9): the lesson's optimizer comparison"),
    _ten_classes("RMSprop 1e-3", _architecture_2(), SPARSE, Optimizer("RMSprop", 1e-3),
                 "RMSprop: the lesson's optimizer comparison"),
    _ten_classes("sigmoid units sparse", _architecture_2((Dense(10, "sigmoid"),)), SPARSE,
                 Optimizer("Adam", 1e-3), "ten sigmoid units with a sparse loss (a real mistake)"),
    _ten_classes("512-256 no L2 no Dropout", (Dense(512), Dense(256), Dense(10, "softmax")),
                 SPARSE, Optimizer("Adam", 1e-3), "wide, no L2, no Dropout"),
    _ten_classes("sigmoid units one-hot", _architecture_2((Dense(10, "sigmoid"),)),
                 Loss("categorical_crossentropy"), Optimizer("Adam", 1e-3),
                 "ten sigmoid units, one-hot labels (TensorFlow: a softmax of their logits)"),
    _ten_classes("softmax + Activation(linear) Adam 1e-2",
                 _architecture_2((Dense(10, "softmax"), Activation("linear"))), SPARSE,
                 Optimizer("Adam", 1e-2), "a linear Activation after the softmax"),
    _ten_classes("BatchNormalization sigmoid units one-hot",
                 (Dense(128, "relu", 1e-3), BatchNormalization(), Dropout(0.5),
                  Dense(64, "relu", 1e-3), BatchNormalization(), Dropout(0.5),
                  Dense(10, "sigmoid")), Loss("categorical_crossentropy"), Optimizer("Adam", 1e-3),
                 "ten sigmoid units, one-hot labels, BatchNormalization (Keras on JAX trains it)"),
)


CONFIGS: tuple[StressConfig, ...] = (
    # learning rates from 1e-4 to 1 (and the SGD(5), SGD(50)) on the sheet's model
    *_rates("Adam", (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 0.03, 0.1, 0.3, 1.0)),
    *_rates("SGD", (1e-4, 1e-3, 1e-2, 0.1, 0.3, 1.0, 5.0, 50.0)),
    *_rates("SGD", (1e-4, 1e-3, 1e-2, 0.1, 1.0), momentum=0.9),
    *_rates("SGD", (1e-4, 1e-3, 1e-2, 0.1, 1.0, 2.0), momentum=0.9, nesterov=True),
    *_rates("RMSprop", (1e-4, 1e-3, 1e-2, 0.1, 1.0)),
    *_rates("AdamW", (1e-3, 1e-2)),
    *_rates("Adagrad", (1e-2,)),
    # no L2, wide layers
    StressConfig("keras-io imbalance Adam 1e-2", KERAS_IO_IMBALANCE, BCE, Optimizer("Adam", 1e-2),
                 "keras-io class-imbalance example: 3x256 relu, Dropout 0.3, Adam(1e-2), no L2"),
    StressConfig("keras-io imbalance Adam 1e-3", KERAS_IO_IMBALANCE, BCE, Optimizer("Adam", 1e-3),
                 "the same with Keras' default learning rate"),
    StressConfig("3x256 Adam 1e-2", THREE_256, BCE, Optimizer("Adam", 1e-2), "3x256 relu, no L2"),
    StressConfig("3x256 SGD 0.1", THREE_256, BCE, Optimizer("SGD", 0.1), "3x256 relu, no L2"),
    StressConfig("512-256-128 Adam 1e-3", WIDE, BCE, Optimizer("Adam", 1e-3), "wide, no L2"),
    StressConfig("512-256-128 Adam 1e-2", WIDE, BCE, Optimizer("Adam", 1e-2), "wide, no L2"),
    StressConfig("512-256-128 RMSprop 1e-3", WIDE, BCE, Optimizer("RMSprop", 1e-3), "wide, no L2"),
    StressConfig("512-256-128 SGD momentum 0.1", WIDE, BCE, Optimizer("SGD", 0.1, 0.9),
                 "wide, no L2, SGD with momentum"),
    StressConfig("512-256-128 dropout 0.5 Adam 1e-3",
                 (Dense(512), Dropout(0.5), Dense(256), Dropout(0.5), Dense(128), *SIGMOID), BCE,
                 Optimizer("Adam", 1e-3), "wide with dropout, no L2"),
    # saturating sigmoids and tanh in the hidden layers
    StressConfig("sheet sigmoid hidden Adam 1e-3", _sheet("sigmoid"), BCE, Optimizer("Adam", 1e-3),
                 "sigmoid hidden layers"),
    StressConfig("sheet sigmoid hidden Adam 1e-2", _sheet("sigmoid"), BCE, Optimizer("Adam", 1e-2),
                 "sigmoid hidden layers, a large rate"),
    StressConfig("sheet sigmoid hidden SGD 1e-2", _sheet("sigmoid"), BCE, Optimizer("SGD", 1e-2),
                 "sigmoid hidden layers, plain SGD (vanishing gradients)"),
    StressConfig("sheet sigmoid hidden SGD 1", _sheet("sigmoid"), BCE, Optimizer("SGD", 1.0),
                 "sigmoid hidden layers, SGD(1)"),
    StressConfig("sheet tanh hidden Adam 1e-3", _sheet("tanh"), BCE, Optimizer("Adam", 1e-3),
                 "tanh hidden layers"),
    StressConfig("sheet tanh hidden Adam 1e-2", _sheet("tanh"), BCE, Optimizer("Adam", 1e-2),
                 "tanh hidden layers, a large rate"),
    StressConfig("sheet tanh hidden SGD 0.1", _sheet("tanh"), BCE, Optimizer("SGD", 0.1),
                 "tanh hidden layers, SGD"),
    StressConfig("sheet tanh hidden RMSprop 1e-2", _sheet("tanh"), BCE, Optimizer("RMSprop", 1e-2),
                 "tanh hidden layers, RMSprop"),
    StressConfig("512-256-128 sigmoid Adam 1e-2",
                 (Dense(512, "sigmoid"), Dense(256, "sigmoid"), Dense(128, "sigmoid"), *SIGMOID),
                 BCE, Optimizer("Adam", 1e-2), "wide sigmoid layers, no L2"),
    StressConfig("3x256 tanh Adam 1e-2", (Dense(256, "tanh"),) * 3 + SIGMOID, BCE,
                 Optimizer("Adam", 1e-2), "3x256 tanh, no L2"),
    # from_logits both ways
    StressConfig("linear output from_logits Adam 1e-3", _sheet(output=LINEAR),
                 Loss(as_class=True, from_logits=True), Optimizer("Adam", 1e-3),
                 "Dense(1) and BinaryCrossentropy(from_logits=True), as TensorFlow's tutorials"),
    StressConfig("linear output from_logits Adam 1e-2", _sheet(output=LINEAR),
                 Loss(as_class=True, from_logits=True), Optimizer("Adam", 1e-2),
                 "logits, a large rate"),
    StressConfig("linear output from_logits 3x256 Adam 1e-2", THREE_256[:-1] + LINEAR,
                 Loss(as_class=True, from_logits=True), Optimizer("Adam", 1e-2),
                 "logits, wide, no L2"),
    StressConfig("sigmoid output from_logits Adam 1e-3", SHEET,
                 Loss(as_class=True, from_logits=True), Optimizer("Adam", 1e-3),
                 "from_logits=True after a sigmoid (a common mistake)"),
    StressConfig("sigmoid output from_logits Adam 1e-2", SHEET,
                 Loss(as_class=True, from_logits=True), Optimizer("Adam", 1e-2),
                 "from_logits=True after a sigmoid, a large rate"),
    StressConfig("sigmoid output BCE class from_logits=False", SHEET,
                 Loss(as_class=True, from_logits=False), Optimizer("Adam", 1e-3),
                 "BinaryCrossentropy() as a class"),
    # label smoothing
    StressConfig("label smoothing 0.1", SHEET, Loss(as_class=True, label_smoothing=0.1),
                 Optimizer("Adam", 1e-3), "BinaryCrossentropy(label_smoothing=0.1)"),
    StressConfig("label smoothing 0.2 Adam 1e-2", SHEET, Loss(as_class=True, label_smoothing=0.2),
                 Optimizer("Adam", 1e-2), "label smoothing, a large rate"),
    StressConfig("label smoothing 0.1 from_logits", _sheet(output=LINEAR),
                 Loss(as_class=True, from_logits=True, label_smoothing=0.1),
                 Optimizer("Adam", 1e-3), "label smoothing on logits"),
    # a linear or relu output with binary cross-entropy on probabilities
    StressConfig("linear output BCE Adam 1e-3", _sheet(output=LINEAR), BCE, Optimizer("Adam", 1e-3),
                 "Dense(1) without an activation and binary_crossentropy"),
    StressConfig("linear output BCE 3x256 Adam 1e-2", THREE_256[:-1] + LINEAR, BCE,
                 Optimizer("Adam", 1e-2), "no activation, wide, no L2"),
    StressConfig("relu output BCE Adam 1e-3", _sheet(output=(Dense(1, "relu"),)), BCE,
                 Optimizer("Adam", 1e-3), "Dense(1, relu) and binary_crossentropy"),
    StressConfig("relu output BCE SGD 1e-2", _sheet(output=(Dense(1, "relu"),)), BCE,
                 Optimizer("SGD", 1e-2), "relu output, SGD"),
    # other ways to write the output
    StressConfig("Dense(1) + Activation(sigmoid)", _sheet(output=(Dense(1, "linear"),
                                                                  Activation("sigmoid"))),
                 BCE, Optimizer("Adam", 1e-3), "the sigmoid as a layer of its own"),
    StressConfig("Dense(1, softmax)", _sheet(output=(Dense(1, "softmax"),)), BCE,
                 Optimizer("Adam", 1e-3), "softmax on one unit (always 1: a real mistake)"),
    StressConfig("keras-io imbalance + Activation(linear) Adam 1e-2",
                 KERAS_IO_IMBALANCE + (Activation("linear"),), BCE, Optimizer("Adam", 1e-2),
                 "a linear Activation after the sigmoid (it returns its input: TensorFlow keeps "
                 "the sigmoid's logits)"),
    StressConfig("sigmoid output mse", SHEET, Loss("mean_squared_error"), Optimizer("Adam", 1e-3),
                 "mean squared error on a sigmoid"),
    StressConfig("sheet BatchNormalization", (Dense(256), BatchNormalization(), Dropout(0.5),
                                              Dense(128), BatchNormalization(), Dropout(0.3),
                                              Dense(64), *SIGMOID),
                 BCE, Optimizer("Adam", 1e-3), "BatchNormalization after each hidden layer"),
    # the lesson's ten-class exercise (issue 25)
    *MULTICLASS,
)

# The configurations the issue saw go wrong, for the ordinary suite's fast subset.
HARDEST = ("keras-io imbalance Adam 1e-2", "sheet Adam 0.03", "sheet Adam 0.1", "sheet SGD 5",
           "sheet SGD(nesterov) 2", "sigmoid output from_logits Adam 1e-3",
           # the corpus found it: Keras on JAX clipped the softmax its fast path did not take
           "10 classes softmax + Activation(linear) Adam 1e-2")


def runnable() -> tuple[StressConfig, ...]:
    return tuple(config for config in CONFIGS if not config.not_yet_run)
