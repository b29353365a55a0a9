"""The sentiment sheet's checks and bonus challenges, in the order reports show them.

Most are the engine's (``grader.checks``, ``grader.bonus``) in this sheet's words (``HINTS``); the
output layer and the loss are this exercise's own: one sigmoid unit and binary cross-entropy.
"""

from __future__ import annotations

from grader import bonus as challenges
from grader import checks as engine
from grader.checks import (Hints, failed, logits_told_probabilities, never_compiled, not_reached,
                           output_activation_of, output_of, passed, requires_model, stopped)
from grader.exercise import Registry

HINTS = Hints(
    not_started="fill in the TODOs of steps 1-6",
    widths=(256, 128, 64),
    sample="review",
    label_fix=("for this exercise, end the model with one sigmoid unit, "
               "Dense(1, activation='sigmoid'), and compile with loss='binary_crossentropy': it "
               "takes the 0/1 labels as they are"),
    data_source="the exercise makes its data with make_classification",
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
    index, layer = output_of(obs)
    activation = output_activation_of(obs)
    fix = "end the model with Dense(1, activation='sigmoid')"
    if layer.units == 1 and activation == "sigmoid":
        return passed("Dense(1) with sigmoid: one probability per review")
    found = f"the model ends in Dense({layer.units}) with {activation} activation"
    if layer.units == 1 and activation == "linear" and obs.compile and obs.compile.from_logits:
        reason = ("; with from_logits=True this is sound maths, but the exercise asks for a sigmoid "
                  "output that gives a probability")
    elif layer.units == 1 and activation == "softmax":
        reason = "; softmax over a single unit always outputs 1.0, so the model cannot learn"
    elif layer.units != 1 and activation == "softmax":
        reason = ("; that is the multi-class recipe. A binary classifier outputs one probability: "
                  "one unit with sigmoid")
    else:
        reason = "; a binary classifier outputs one probability: one unit with sigmoid"
    return failed(found + reason, fix, layers=[index])


@check
def loss(obs, training, rubric):
    fix = "compile with loss='binary_crossentropy'"
    if obs.compile is None:
        if stopped(obs):
            return not_reached(obs)
        return failed(never_compiled(obs),
                      "after building the model, call model.compile(optimizer='adam', "
                      "loss='binary_crossentropy', metrics=['accuracy'])")
    name = obs.compile.loss
    if name != "binary_crossentropy":
        found = f"the loss is {name or 'not set'}"
        if name and "categorical" in name:
            found += ", the multi-class loss"
        return failed(found + "; a binary classifier trains with binary "
                      "cross-entropy", fix)
    told = logits_told_probabilities(obs, "binary cross-entropy", "sigmoid")
    if told:
        return told
    note = " on logits (from_logits=True)" if obs.compile.from_logits else ""
    return passed(f"binary cross-entropy{note}")


for common in (engine.training, engine.prints_accuracy, engine.loss_decreases, engine.accuracy):
    REGISTRY.check(common, hints=HINTS)
for challenge in (challenges.early_stopping, challenges.lr_schedule, challenges.loss_plot,
                  challenges.dropout_comparison):
    REGISTRY.bonus(challenge)
