"""The multiclass sheet's checks and bonus challenges, in the order reports show them.

Most are the engine's (``grader.checks``, ``grader.bonus``) in this sheet's words (``HINTS``); the
output layer, the loss and the optimizer are this exercise's own: ten softmax units, a
cross-entropy that fits the labels as the script gave them, and Adam.
"""

from __future__ import annotations

from grader import bonus as challenges
from grader import checks as engine
from grader.checks import (Hints, failed, logits_told_probabilities, never_compiled, not_reached,
                           output_activation_of, output_of, passed, requires_model, stopped)
from grader.exercise import Registry

TO_CATEGORICAL = "one-hot them with to_categorical(y, 10)"
SPARSE = "compile with loss='sparse_categorical_crossentropy', which takes the integer labels"
HINTS = Hints(
    not_started="fill in the TODOs of steps 1-6",
    widths=(128, 64),
    sample="row",
    label_fix=("end the model with Dense(10, activation='softmax'); then either keep the "
               "integer labels and compile with loss='sparse_categorical_crossentropy', or "
               f"{TO_CATEGORICAL} and compile with loss='categorical_crossentropy'"),
    data_source="the exercise makes its data with make_classification",
    data_arguments=("n_samples", "n_features", "n_classes", "n_informative"),
)
REGISTRY = Registry()
check = REGISTRY.check

REGISTRY.check(engine.runs, hints=HINTS, from_the_channel=False)  # rests on the exit status
for common in (engine.data, engine.split, engine.hidden_layers, engine.decreasing_widths,
               engine.l2, engine.dropout, engine.hidden_activations):
    REGISTRY.check(common, hints=HINTS)


@check
@requires_model
def output_layer(obs, training, rubric):
    classes = int(rubric.exercise.n_classes)
    index, layer = output_of(obs)
    activation = output_activation_of(obs)
    fix = f"end the model with Dense({classes}, activation='softmax')"
    if layer.units == classes and activation == "softmax":
        return passed(f"Dense({classes}) with softmax: one probability per class, summing to 1")
    found = f"the model ends in Dense({layer.units}) with {activation} activation"
    if layer.units == classes and activation == "linear" and obs.compile and \
            obs.compile.from_logits:
        reason = ("; with from_logits=True this is sound maths, but the exercise asks for a "
                  "softmax output that gives probabilities")
    elif layer.units == classes and activation == "sigmoid":
        reason = ("; a sigmoid scores each class on its own (the scores need not sum to 1): "
                  "softmax makes them one distribution over the classes")
    elif layer.units == 1:
        reason = (f"; one unit answers a yes/no question, but each row belongs to one of "
                  f"{classes} classes: one output per class")
    else:
        reason = f"; the data has {classes} classes: one softmax output per class"
    return failed(found + reason, fix, layers=[index])


@check
def loss(obs, training, rubric):
    classes = int(rubric.exercise.n_classes)
    if obs.compile is None:
        if stopped(obs):
            return not_reached(obs)
        return failed(never_compiled(obs),
                      "after building the model, call model.compile(optimizer='adam', "
                      "loss='sparse_categorical_crossentropy', metrics=['accuracy'])")
    name, width = obs.compile.loss, obs.label_width
    labels = {1: "integer labels", classes: "one-hot labels"}.get(width, "labels")
    if name == "sparse_categorical_crossentropy" and width in (1, None):
        fits = "integer labels" if width == 1 else "integer labels (the labels' shape was not seen)"
    elif name == "categorical_crossentropy" and width == classes:
        fits = "one-hot labels"
    elif name == "categorical_crossentropy" and width in (1, None):
        return failed("loss='categorical_crossentropy' expects one-hot labels (one column per "
                      f"class), but the model was trained on {labels}",
                      f"either {TO_CATEGORICAL} (y_train and y_test), or {SPARSE}")
    elif name == "sparse_categorical_crossentropy":
        return failed(f"loss='sparse_categorical_crossentropy' takes integer labels, but the "
                      f"model was trained on {labels} ({width} columns)",
                      "compile with loss='categorical_crossentropy' for one-hot labels, or "
                      "train on the integer labels")
    else:
        found = f"the loss is {name or 'not set'}"
        if name and "binary" in name:
            found += ", the two-class loss"
        return failed(found + f"; a {classes}-class classifier trains with categorical "
                      "cross-entropy", f"{SPARSE} (or one-hot them and use "
                      "loss='categorical_crossentropy')")
    told = logits_told_probabilities(obs, name, "softmax")
    if told:
        return told
    note = " on logits (from_logits=True)" if obs.compile.from_logits else ""
    return passed(f"{name}{note} with {fits}")


@check
def optimizer(obs, training, rubric):
    fix = "compile with optimizer=Adam(learning_rate=0.001) (or optimizer='adam')"
    if obs.compile is None:
        if stopped(obs):
            return not_reached(obs)
        return failed(never_compiled(obs), fix)
    name = obs.compile.optimizer or ""
    if name.lower() == "adam":
        return passed("Adam")
    return failed(f"the optimizer is {name or 'not set'}; the exercise asks for Adam, which "
                  "adapts each weight's step and keeps momentum", fix)


for common in (engine.training, engine.prints_accuracy, engine.loss_decreases, engine.accuracy):
    REGISTRY.check(common, hints=HINTS)
for challenge in (challenges.optimizer_comparison, challenges.early_stopping,
                  challenges.loss_plot):
    REGISTRY.bonus(challenge)
