"""The engine's checks: what an exercise's registry (``grader.exercise.Registry``) is built from.

Each function here takes ``(observation, training, rubric, hints)`` and returns a ``CheckResult``:
the rubric gives the numbers the exercise asks for, ``Hints`` the words of its sheet. An exercise
registers a check under its id by calling one of these, or by writing its own from the views
below. None raises for a student's mistake, does I/O or imports TensorFlow. A message says what was
found and what the exercise asks; the hint says how to fix it; a ``note`` (a few words: "crashed at
line 12") marks a failure that explains the whole score. ``run_checks`` runs the registry of the
rubric's exercise.
"""

from __future__ import annotations

import functools
import io
import math
import re
import tokenize
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from grader import exercise
from grader.core.results import CheckResult
from grader.observation import (DROPOUT_LAYERS, FitCall, Layer, Observation, applied_activation,
                                output_activation)
from grader.sources import as_written, describe_line, submission_noun
from grader.retrain.client import TrainingResult
from grader.text import inert

if TYPE_CHECKING:
    from grader.core.rubric import Rubric


def passed(message: str) -> CheckResult:
    """A passed check's result (its id is filled in by ``CHECKS``)."""
    return CheckResult("", True, message)


def failed(message: str, hint: str = "", note: str = "", layers=()) -> CheckResult:
    """A failed check's result (its id is filled in by ``CHECKS``); ``layers``: the indices of
    the model layers it concerns."""
    return CheckResult("", False, message, hint, note, tuple(layers))


Check = Callable[[Observation, "TrainingResult | None", "Rubric", "Hints"], CheckResult]


@dataclass(frozen=True)
class Hints:
    """The words of an exercise's sheet that the engine's checks use in messages and hints."""

    not_started: str  # what to do with the untouched template ("fill in the TODOs of steps 1-6")
    widths: tuple[int, ...]  # example hidden widths, widest first
    sample: str  # what one row of the data is ("review")
    label_fix: str  # the sheet's own fix when labels do not fit the loss and the output
    data_source: str  # where the data comes from, for a script that tried the network
    # make_classification's arguments the data check compares with the rubric's [exercise] keys
    data_arguments: tuple[str, ...] = ("n_samples", "n_features", "n_classes")


# ---------------------------------------------------------------- shared views of the model

def dense_of(obs: Observation) -> list[tuple[int, Layer]]:
    layers = obs.model.layers if obs.model else ()
    return [(i, layer) for i, layer in enumerate(layers) if layer.kind == "Dense"]


def hidden_of(obs: Observation) -> list[tuple[int, Layer]]:
    """Dense layers before the output layer (the last Dense)."""
    return dense_of(obs)[:-1]


def output_of(obs: Observation) -> tuple[int, Layer] | None:
    dense = dense_of(obs)
    return dense[-1] if dense else None


def _widths(layers) -> str:
    return " → ".join(str(layer.units) for _, layer in layers) or "none"


def _example(hints: Hints) -> str:
    return " → ".join(map(str, hints.widths))


def yours(obs: Observation) -> str:
    """"your script" or "your notebook"."""
    return f"your {submission_noun(obs.source)}"


def is_not_started(obs: Observation) -> bool:
    """The untouched template: it runs, but makes no data, builds no layers, compiles nothing."""
    return (obs.status == "completed" and not obs.data_calls and not obs.split_calls
            and not obs.fits and obs.compile is None
            and (obs.model is None or not obs.model.layers))


# What a crashing line was doing, by what it calls (the first match wins).
_STAGES = (("make_classification", "while making the data"),
           ("train_test_split", "while splitting the data"),
           (".compile(", "while compiling the model"), (".fit(", "while training the model"),
           (".evaluate(", "while evaluating the model"), (".predict(", "while evaluating the model"),
           ("Sequential(", "while building the model"), (".add(", "while building the model"),
           ("Dense(", "while building the model"), ("Dropout(", "while building the model"),
           ("Input(", "while building the model"))
# Calls that make a layer or a model: a failing line after the last of them failed after the
# model was finished (a plot_model without pydot, say).
_BUILDING = tuple(call for call, stage in _STAGES if stage == "while building the model") + (
    "Model(", "Activation(", "BatchNormalization(", "LeakyReLU(", "ReLU(", "GaussianNoise(")


def _after_the_model(obs: Observation) -> bool:
    """The run stopped on a line after every line of the source that makes a layer or a model."""
    lineno = obs.error.lineno if obs.error else None
    building = [number for number, line in enumerate(obs.source.split("\n"), start=1)
                if any(call in line for call in _BUILDING)]
    return bool(lineno and building) and lineno > max(building)


def _stage(obs: Observation) -> str:
    """What the script was doing when it stopped: from the failing line, else the last step the
    evidence shows ("after compiling the model")."""
    line = obs.error.line if obs.error else ""
    for call, stage in _STAGES:
        if call in line:
            return stage
    if not obs.data_calls:
        return "before making the data"
    if obs.test_split is None:
        return "after making the data"
    if obs.compile is None:
        return "after building the model" if _after_the_model(obs) else "while building the model"
    if not obs.fits:
        return "after compiling the model"
    if not obs.evaluated:
        return "after training the model"
    return "after evaluating the model"


def stopped(obs: Observation) -> str:
    """Why the rest was not reached ("your script stopped at line 17 while building the
    model"), or "" when the run did not stop early."""
    if obs.status == "completed" or obs.error is None:
        return ""
    place = describe_line(obs.source, obs.error.lineno) if obs.error.lineno else ""
    at = f" at {place}" if place else ""
    if obs.error.type == "UnreadableFile":
        return "your file could not be graded, so none of it ran"
    if obs.status == "grader_error":
        return f"the grader failed before {yours(obs)} started"
    if obs.error.kind == "syntax" and not obs.wall_seconds:  # found before anything ran
        return f"{yours(obs)} has a syntax error{at}, so none of it ran"
    verb = {"timeout": "ran out of time", "memory": "ran out of memory",
            "processes": "started too many processes"}.get(obs.error.kind, "stopped")
    return f"{yours(obs)} {verb}{at} {_stage(obs)}"


def not_reached(obs: Observation) -> CheckResult:
    """A check about a step the script never reached: it says so, with no fix hint (the crash,
    reported by ``runs``, is what to fix)."""
    return failed(f"not reached: {stopped(obs)}")


def _model_unfinished(obs: Observation) -> bool:
    """The run stopped before the model was finished: not compiled, and the failing line is no
    compile, fit or evaluate of a model built already."""
    if not stopped(obs):
        return False
    if obs.model is None or not obs.model.layers:
        return True
    return obs.compile is None and _stage(obs) not in (
        "while compiling the model", "while training the model", "while evaluating the model",
        "after building the model")


def requires_model(check: Check) -> Check:
    """A check of the model's layers: not reached when the script stopped before finishing the
    model; failed, saying so, when no model with layers was built."""

    @functools.wraps(check)
    def checked(obs: Observation, training: TrainingResult | None, rubric: Rubric,
                *hints: Hints) -> CheckResult:
        if _model_unfinished(obs):
            return not_reached(obs)
        if obs.model is None or not obs.model.layers:
            return failed(f"{yours(obs)} built no Keras model with layers",
                          "build the model with Sequential() (or the functional API) and add "
                          "its layers")
        return check(obs, training, rubric, *hints)

    return checked


# Keras' words (and TensorFlow's and JAX's, whose operations compute the loss) when the labels do
# not fit the loss and the output
_MISMATCH = re.compile(r"must have the same (?:rank|shape)"
                       r"|must have rank \(ndim\) `target\.ndim - 1`"
                       r"|Dimensions must be equal|[Ii]ncompatible shapes"
                       r"|label value of (\d+) which is outside the valid range of \[0, (\d+)\)")
# ... and the shapes of the labels and of the output each of them names, in that order
_SHAPE_FORMS = (
    re.compile(r"target\.shape=\(([\w, ]*)\),? output\.shape=\(([\w, ]*)\)"),  # Keras' checks
    re.compile(r"Incompatible shapes: \[([\w,]*)\] vs\. \[([\w,]*)\]"),  # TensorFlow, eagerly
    re.compile(r"with input shapes: \[([\w,?]*)\], \[([\w,?]*)\]"),  # TensorFlow, in a graph
    re.compile(r"shapes=\[\(([\w, ]*)\), \(([\w, ]*)\)\]"),  # JAX
    re.compile(r"incompatible shapes for broadcasting: \(([\w, ]*)\), \(([\w, ]*)\)"),  # JAX's ops
)
_KERAS_CHECK = _SHAPE_FORMS[0]


def _dims(shape: str) -> list[str]:
    return [part.strip() for part in shape.split(",") if part.strip()]


def _label_and_output_shapes(message: str) -> tuple[list[str], list[str]] | None:
    for form in _SHAPE_FORMS:
        if found := form.search(message):
            return _dims(found.group(1)), _dims(found.group(2))
    return None


def _loss_as_written(obs: Observation) -> str:
    """The loss as the script gave it to compile: ``loss='mse'``, ``a CategoricalCrossentropy
    loss``, ``loss=categorical_crossentropy`` (a function)."""
    config = obs.compile.loss_config if obs.compile else None
    if isinstance(config, str) and config:
        return f"loss={config[:60]!r}"
    if isinstance(config, dict) and config.get("class_name") == "function":
        return f"loss={str(config.get('config'))[:60]}"
    if isinstance(config, dict) and isinstance(config.get("class_name"), str):
        return f"a {config['class_name'][:60]} loss"
    return "the loss"


def label_problem(obs: Observation, message: str, hints: Hints) -> tuple[str, str] | None:
    """(what does not fit, how to fix it) when Keras refused the labels for the loss and the
    output the script used, worded from what was observed: the loss as the script wrote it, the
    output layer's width and the labels' shape in Keras' message (integers, one per sample, or
    one-hot columns); the fix: the lesson's own for the loss, then the sheet's. None when
    ``message`` is no such refusal (an operation's shapes that do not share the batch are no
    labels against an output)."""
    found = _MISMATCH.search(message or "")
    if not found:
        return None
    shapes = _label_and_output_shapes(message)
    if not found.group(1) and not _KERAS_CHECK.search(message) and (
            not shapes or not shapes[0] or not shapes[1] or shapes[0][0] != shapes[1][0]):
        return None
    name = (obs.compile.loss if obs.compile else None) or ""
    loss, sample = _loss_as_written(obs), hints.sample
    output = output_of(obs) if obs.model else None
    units = output[1].units if output else None
    layer = f"Dense({units}) with {output_activation_of(obs)}" if units else "the output layer"
    outputs = (f"the model outputs {units} value{'s' if units != 1 else ''} per {sample} "
               f"({layer})" if units else "the model's output does not fit them")
    target = shapes[0] if shapes else []
    integers = len(target) == 1 or (len(target) == 2 and target[1] == "1")
    columns = target[1] if len(target) == 2 and target[1] not in ("1", "None", "?") else None
    labels = ("the labels are " + (f"one-hot ({columns} columns, from to_categorical)" if columns
                                   else f"integers (one per {sample})" if integers
                                   else f"of shape ({', '.join(target)})")) if target \
        else "the labels do not fit"
    if found.group(1):  # sparse categorical cross-entropy met a label beyond its outputs
        problem = (f"{loss} needs one output per class, but the model has {found.group(2)} "
                   f"({layer}) and a label is {found.group(1)}")
    elif name == "sparse_categorical_crossentropy" and columns:
        problem = (f"{loss} takes integer labels (one class number per {sample}), but {labels}; "
                   "train on the integer labels as they are, or compile with "
                   "loss='categorical_crossentropy', which takes one-hot labels")
    elif name == "categorical_crossentropy" and integers:
        problem = (f"{loss} expects one-hot labels (one column per class), but {labels}; "
                   f"one-hot them with to_categorical(y, {units or 'num_classes'}), or compile "
                   "with loss='sparse_categorical_crossentropy', which takes integer labels")
    elif name == "categorical_crossentropy" and columns:
        problem = (f"{loss} compares one output per class with one-hot labels, but {labels} "
                   f"and {outputs}: both must count the classes")
    elif name == "binary_crossentropy":
        found_parts = [labels] if columns or units in (1, None) else []
        found_parts += [outputs] if units not in (1, None) else []
        problem = (f"{' and '.join(found_parts)}, but binary cross-entropy ({loss}) compares one "
                   f"probability per {sample} with its 0/1 label")
    else:
        problem = f"{labels}, but {outputs}: {loss} compares them value by value"
    return f"Keras cannot train it as compiled: {problem}", hints.label_fix


_MISSING_MODULE = re.compile(r"No module named '([\w.]+)'")
_GRADING = {"tensorflow": "tensorflow", "keras": "keras", "sklearn": "scikit-learn",
            "numpy": "numpy", "matplotlib": "matplotlib"}  # module -> package; grading needs them
# ... and what the grading environment has because notebooks import it by habit
_NEEDED = {**_GRADING, "pandas": "pandas", "seaborn": "seaborn"}
_PLOTTING = {"plotly", "bokeh", "altair", "plotnine"}
_PACKAGES = {"cv2": "opencv-python", "PIL": "Pillow", "yaml": "PyYAML", "skimage": "scikit-image",
             "bs4": "beautifulsoup4", **_NEEDED}


def _missing_module(error) -> tuple[str, str] | None:
    """(message, hint) for an import of a module the sandbox does not have, else None."""
    match = _MISSING_MODULE.search(error.message) if error.type in (
        "ModuleNotFoundError", "ImportError") else None
    if not match:
        return None
    name = match.group(1)
    top = name.split(".")[0]
    package = _PACKAGES.get(top, top)
    line = f"`{error.line.strip()}`" if error.line.strip() else "the import"
    if top in _NEEDED and name != top:
        return (f"No module named '{name}': {package} is installed, but it has no module "
                f"{name[len(top) + 1:]!r}", f"check the spelling of {line}")
    if top in _NEEDED:
        why = "grading needs" if top in _GRADING else "it is meant to have"
        return (f"No module named '{name}': the grader's environment lacks {package}, which "
                f"{why}", "tell your instructor: this is the grader's problem, not yours")
    return (f"No module named '{name}': the grader's environment does not have it (package "
            f"{package}); grading does not need it, remove the import",
            f"remove {line} and what uses it"
            + (" (matplotlib and seaborn are available for plots)" if top in _PLOTTING else ""))


def _fmt(number) -> str:
    return f"{number:g}" if isinstance(number, (int, float)) else repr(number)


# ---------------------------------------------------------------- the checks

def runs(obs: Observation, training: TrainingResult | None, rubric: Rubric,
         hints: Hints) -> CheckResult:
    your = yours(obs)
    if is_not_started(obs):
        return failed(f"{your} runs, but it is still the starter template: it makes no data "
                      "and builds no model", f"{hints.not_started}, then grade it again",
                      note="not started")
    if obs.status == "completed":
        return passed(f"{your} ran to completion in {obs.wall_seconds:.1f} s")
    error = obs.error
    limits = rubric.limits
    if obs.status == "timeout":
        return failed(f"{your} was still running after {limits.timeout_seconds:g} s, "
                      "the time limit, and was stopped",
                      "look for an endless loop, or far more epochs or units than the "
                      "exercise asks for", note=f"timed out ({limits.timeout_seconds:g} s)")
    if obs.status == "processes":
        return failed(f"{your} started more than {limits.max_processes:g} processes or "
                      "threads at once and was stopped",
                      "the exercise needs no processes of its own: look for a loop that starts "
                      "processes", note=f"too many processes ({limits.max_processes:g})")
    if obs.status == "memory":
        return failed(f"{your} used more than {limits.memory_mb:g} MB of memory "
                      "and was stopped",
                      "the exercise's model needs well under 1 GB: look for huge arrays "
                      "or layers", note=f"ran out of memory ({limits.memory_mb:g} MB)")
    if obs.status == "grader_error":
        return failed(f"the grader failed before {your} started ({error.message}); this is "
                      f"no fault of {your}", "grade it again; if this happens again, tell your "
                      "instructor", note="grader error")
    if error is None or obs.status in ("killed", "no_start"):
        detail = f": {error.message}" if error and error.message else ""
        return failed(f"{your} ended abruptly{detail}",
                      f"run {your} yourself and read the last lines of its output",
                      note="ended abruptly")
    place = describe_line(obs.source, error.lineno) if error.lineno else ""
    line = as_written(error.line).strip()
    where = f" at {place}" + (f" (`{line}`)" if line else "") if place else ""
    at = f" at {place}" if place else ""
    # the instructor's few words name the place in short
    at_note = f" at {describe_line(obs.source, error.lineno, short=True)}" if place else ""
    if error.type == "UnreadableFile":  # the message says what is wrong and what to do
        return failed(f"the grader cannot grade your file: {error.message}",
                      note="unreadable file")
    if error.kind == "syntax":  # a notebook's cell raises it when its turn comes: the rest ran
        rest = ("the checks below got only what ran before it" if obs.wall_seconds else
                "nothing in your file could run until then")
        return failed(f"Python could not read your file: SyntaxError{where}: {error.message}",
                      f"fix the syntax{at}; {rest}", note=f"syntax error{at_note}")
    if error.kind == "exit":
        return failed(f"{your} ended with {error.message}",
                      "let the script end normally (or call sys.exit(0))",
                      note=f"exited early ({error.message})"[:60])
    message = f"{your} stopped{where} with {error.type}: {error.message}"
    hint = "fix that line; the checks below got only what ran before it"
    note = f"crashed{at_note} ({error.type})"
    missing = _missing_module(error)
    if missing:
        message, hint = f"{your} stopped{where}: {missing[0]}", missing[1]
        note = f"crashed{at_note} (missing module)"
    elif label_problem(obs, error.message, hints):
        problem, hint = label_problem(obs, error.message, hints)
        message = f"{your} stopped{where}: {problem}"
        note = f"crashed{at_note} (labels do not fit the loss)"
    elif error.kind == "network":
        message += ". The sandbox has no network"
        hint = f"nothing needs downloading: {hints.data_source}"
        note = f"crashed{at_note} (network access)"
    elif error.kind == "filesystem":
        message += f". The sandbox lets {your} write files only in its working directory"
        hint = "write files with relative paths (e.g. 'plot.png'), not into other folders"
        note = f"crashed{at_note} (wrote outside its folder)"
    return failed(message, hint, note=note)


# scikit-learn's own defaults, for an argument the script left out
MAKE_CLASSIFICATION_DEFAULTS = {"n_samples": 100, "n_features": 20, "n_classes": 2,
                                "n_informative": 2, "n_redundant": 2, "n_clusters_per_class": 2}


def data(obs: Observation, training: TrainingResult | None, rubric: Rubric,
         hints: Hints) -> CheckResult:
    wanted = {key: rubric.exercise[key] for key in hints.data_arguments}
    call = f"make_classification({', '.join(f'{k}={_fmt(v)}' for k, v in wanted.items())})"
    if not obs.data_calls:
        if stopped(obs):
            return not_reached(obs)
        return failed("make_classification was never called", f"generate the data with {call}")
    found = obs.data_calls[-1]
    actual = {k: found.get(k, MAKE_CLASSIFICATION_DEFAULTS.get(k)) for k in wanted}
    wrong = [f"{k}={_fmt(actual[k])}" for k in wanted if actual[k] != wanted[k]]
    if not wrong:
        return passed("make_classification(" +
                      ", ".join(f"{k}={_fmt(v)}" for k, v in actual.items()) + ")")
    return failed(f"make_classification was called with {', '.join(wrong)}; the exercise "
                  f"asks for {', '.join(f'{k}={_fmt(v)}' for k, v in wanted.items())}",
                  f"call {call}")


def split(obs: Observation, training: TrainingResult | None, rubric: Rubric,
          hints: Hints) -> CheckResult:
    fraction = float(rubric.exercise["test_fraction"])
    total = int(rubric.exercise["n_samples"])
    expected = f"{round(total * (1 - fraction))} / {round(total * fraction)}"
    hint = f"use train_test_split(X, y, test_size={fraction:g})"
    if obs.test_split is None:
        if stopped(obs):
            return not_reached(obs)
        return failed("train_test_split was never called", hint)
    if obs.split_rows is None:
        return failed("could not see the sizes train_test_split returned", hint)
    train_rows, test_rows = obs.split_rows
    rows = train_rows + test_rows
    if rows and abs(test_rows / rows - fraction) <= 1.0 / rows:
        return passed(f"{train_rows} training / {test_rows} test rows")
    return failed(f"train_test_split held out {test_rows} of {rows} rows "
                  f"({test_rows / rows:.0%} for testing); the exercise asks for "
                  f"{fraction:.0%} ({expected})", hint)


@requires_model
def hidden_layers(obs, training, rubric, hints) -> CheckResult:
    wanted = int(rubric.exercise["min_hidden_layers"])
    hidden = hidden_of(obs)
    if len(hidden) >= wanted:
        return passed(f"{len(hidden)} hidden Dense layers ({_widths(hidden)})")
    widths = [layer.units or 0 for _, layer in hidden]
    if len(widths) >= 2:
        gap = max(range(len(widths) - 1), key=lambda i: widths[i] - widths[i + 1])
        upper, lower = max(widths[gap], 1), max(widths[gap + 1], 1)
        # a round width between the two (128 between 256 and 64), else one after the last
        between = [2 ** k for k in range(1, 16) if lower < 2 ** k < upper]
        if between:
            new = min(between, key=lambda w: abs(math.log(w) - math.log(upper * lower) / 2))
            fix = f"add a Dense({new}, activation='relu') between the {upper}- and " \
                  f"{lower}-unit layers"
        elif widths[-1] >= 2:
            fix = f"add a Dense({widths[-1] // 2}, activation='relu') after the " \
                  f"{widths[-1]}-unit layer, before the output layer"
        else:
            fix = f"add a Dense({int(math.sqrt(upper * lower))}, activation='relu') between " \
                  f"the {upper}- and {lower}-unit layers"
    elif widths:
        fix = f"add Dense({max(1, widths[0] // 2)}) and Dense({max(1, widths[0] // 4)}) " \
              "layers after it, before the output layer"
    else:
        fix = (f"add hidden layers such as {' → '.join(f'Dense({w})' for w in hints.widths)} "
               "before the output layer")
    noun = "layer" if len(hidden) == 1 else "layers"
    return failed(f"found {len(hidden)} hidden Dense {noun} ({_widths(hidden)}); the exercise "
                  f"asks for at least {wanted} (Dropout, Activation or BatchNormalization "
                  "layers do not count)", fix, layers=[i for i, _ in hidden])


@requires_model
def decreasing_widths(obs, training, rubric, hints) -> CheckResult:
    hidden = hidden_of(obs)
    widths = [layer.units for _, layer in hidden]
    if len(widths) < 2:
        return failed(f"found {len(widths)} hidden Dense layer{'s' if len(widths) != 1 else ''}"
                      f" ({_widths(hidden)}): too few to show decreasing widths",
                      f"stack hidden layers that get narrower, e.g. {_example(hints)}")
    bad = [i for i in range(len(widths) - 1)
           if not (isinstance(widths[i], int) and isinstance(widths[i + 1], int)
                   and widths[i + 1] < widths[i])]
    if not bad:
        return passed(f"hidden widths decrease ({_widths(hidden)})")
    i = bad[0]
    return failed(f"hidden widths are {_widths(hidden)}: {widths[i]} → {widths[i + 1]} does "
                  "not decrease; the exercise asks for each hidden layer to be narrower than "
                  "the one before",
                  f"use strictly decreasing widths, e.g. {_example(hints)}",
                  layers=(hidden[i][0], hidden[i + 1][0]))


@requires_model
def l2(obs, training, rubric, hints) -> CheckResult:
    hidden = [layer for _, layer in hidden_of(obs)]
    smallest = float(rubric.exercise.min_l2)
    with_l2 = [layer for layer in hidden if layer.kernel_l2 >= smallest]
    if with_l2:
        factors = ", ".join(f"{layer.units} units: l2={layer.kernel_l2:g}" for layer in with_l2)
        return passed(f"L2 kernel regularization on {len(with_l2)} hidden "
                      f"layer{'s' if len(with_l2) > 1 else ''} ({factors})")
    hint = "add kernel_regularizer=l2(0.001) to your hidden Dense layers"
    output = output_of(obs)
    if any(layer.kernel_l1 > 0 for layer in hidden):
        found = "found only L1 regularization on the hidden layers (L1 drives weights to exactly " \
                "zero; it is not L2)"
    elif any(layer.bias_l2 > 0 for layer in hidden):
        found = "found L2 only on biases (bias_regularizer)"
    elif any(layer.kernel_l2 > 0 for layer in hidden):
        tiny = max(layer.kernel_l2 for layer in hidden)
        found = f"found L2 with a factor of {tiny:g}, too small to change the weights"
    elif output and output[1].kernel_l2 > 0:
        found = "found L2 only on the output layer"
    elif not hidden:
        found = "found no hidden Dense layers to regularize"
    else:
        found = "found no kernel_regularizer on any hidden Dense layer"
    return failed(f"{found}; the exercise asks for L2 regularization (factor at least "
                  f"{smallest:g}) on the hidden layers' kernels", hint,
                  layers=[i for i, _ in hidden_of(obs)])


@requires_model
def dropout(obs, training, rubric, hints) -> CheckResult:
    layers = obs.model.layers
    hidden, output = hidden_of(obs), output_of(obs)
    first_hidden = hidden[0][0] if hidden else None
    drops = [(i, layer) for i, layer in enumerate(layers) if layer.kind in DROPOUT_LAYERS]
    placed = [(i, layer) for i, layer in drops
              if first_hidden is not None and first_hidden < i < output[0]]
    smallest = float(rubric.exercise.min_dropout)
    good = [layer for _, layer in placed if (layer.rate or 0) >= smallest]
    hint = ("add Dropout(0.3) after a hidden Dense layer (e.g. after the "
            f"{hints.widths[min(1, len(hints.widths) - 1)]}-unit layer)")
    if good:
        rates = ", ".join(f"{layer.rate:g}" for layer in good)
        return passed(f"{len(good)} Dropout layer{'s' if len(good) > 1 else ''} "
                      f"between the hidden layers (rate {rates})")
    if placed and any((layer.rate or 0) > 0 for _, layer in placed):
        rate = max(layer.rate or 0 for _, layer in placed)
        found = f"found Dropout with rate {rate:g}, too small to drop anything that matters"
    elif placed:
        found = "found Dropout with rate 0, which drops nothing"
    elif drops and first_hidden is not None and drops[0][0] < first_hidden:
        found = "found Dropout only on the raw inputs, before the first hidden layer"
    elif drops:
        found = "found Dropout only after the output layer" if hidden else \
            "found Dropout but no hidden Dense layer before it"
    else:
        found = "found no Dropout layer"
    return failed(f"{found}; the exercise asks for Dropout (rate at least {smallest:g}) "
                  "after a hidden layer, before the output layer", hint,
                  layers=[i for i, _ in drops])


@requires_model
def hidden_activations(obs, training, rubric, hints) -> CheckResult:
    hidden, output = hidden_of(obs), output_of(obs)
    if not hidden:
        return failed("found no hidden Dense layers, so no hidden activations",
                      "give each hidden Dense layer activation='relu'")
    layers = obs.model.layers
    applied = [(layer, applied_activation(layers, i, output[0])) for i, layer in hidden]
    linear = [layer for layer, act in applied if act == "linear"]
    where = [i for (i, _), (_, act) in zip(hidden, applied) if act == "linear"]
    if not linear:
        names = sorted({act for _, act in applied})
        return passed(f"every hidden layer has a non-linearity ({', '.join(names)})")
    which = ", ".join(f"{layer.name or 'Dense'} ({layer.units} units)" for layer in linear)
    return failed(f"hidden layer{'s' if len(linear) > 1 else ''} {which} "
                  f"{'have' if len(linear) > 1 else 'has'} no activation, so "
                  f"{'they stay' if len(linear) > 1 else 'it stays'} linear; stacked linear "
                  "layers collapse into one linear map",
                  "give each hidden Dense layer activation='relu' (or follow it with a "
                  "ReLU/Activation layer)", layers=where)


def output_activation_of(obs: Observation) -> str:
    return output_activation(obs.model) or "linear"


def logits_told_probabilities(obs: Observation, loss: str, activation: str) -> CheckResult | None:
    """The failure of a loss compiled with from_logits=True after the output's own ``activation``
    (sigmoid, softmax), which already gives probabilities; None when that is not the case.
    ``loss`` names it in words ("binary cross-entropy")."""
    if not (obs.compile and obs.compile.from_logits and obs.model is not None
            and output_of(obs) is not None and output_activation_of(obs) == activation):
        return None
    return failed(f"{loss} with from_logits=True after a {activation} output: the loss is told "
                  "the outputs are logits, but they are probabilities (TensorFlow-Keras warns "
                  f"and takes the {activation}'s logits; other backends apply the {activation} "
                  "twice)", f"drop from_logits=True (the {activation} already gives "
                  "probabilities)")


def never_compiled(obs: Observation) -> str:
    """Why the graded model has no compile settings; when another model was trained, that the
    graded one came after it (a notebook whose last model cell was run out of order)."""
    trained_before = obs.model is not None and any(
        f.model_uid is not None and f.model_uid != obs.model.uid for f in obs.all_fits)
    if not trained_before:
        return "the model was never compiled"
    return (f"the model {yours(obs)} ends with was never compiled: it compiled and trained "
            "another model before building this one (the graded model is the last `model`; a "
            "notebook runs from the top cell to the bottom one)")


def _trains_on_test_rows(obs: Observation, fit: FitCall) -> str:
    """Why ``fit`` saw the test rows (it was given more rows than the split left for training:
    ``fit(X, y)`` after the split), or ""."""
    if obs.split_rows is None:
        return ""
    train_rows, test_rows = obs.split_rows
    if fit.x_rows is None or fit.x_rows <= train_rows or not test_rows:
        return ""
    return (f"x of {fit.x_rows} rows, more than the {train_rows} training rows the split left "
            "(the test rows are among them; expected X_train, y_train)")


def training(obs, training, rubric, hints) -> CheckResult:
    ex = rubric.exercise
    epochs, batch, split = int(ex["epochs"]), int(ex["batch_size"]), float(ex["validation_split"])
    call = f"model.fit(X_train, y_train, epochs={epochs}, batch_size={batch}, " \
           f"validation_split={split:g})"
    if not obs.fits:
        if stopped(obs):
            return not_reached(obs)
        return failed("model.fit was never called", f"train with {call}")
    fit = ([f for f in obs.fits if f.trained] or obs.fits)[-1]  # the last that trained
    problems = []
    leak = _trains_on_test_rows(obs, fit)
    if leak:
        problems.append(leak)
    if fit.epochs != epochs:
        problems.append(f"epochs={_fmt(fit.epochs)} (expected {epochs})")
    if fit.batch_size not in (None, batch):
        problems.append(f"batch_size={_fmt(fit.batch_size)} (expected {batch})")
    has_split = isinstance(fit.validation_split, (int, float)) and fit.validation_split > 0
    if not fit.has_validation_data:
        if not has_split:
            problems.append("no validation data (expected validation_split="
                            f"{split:g})")
        elif abs(fit.validation_split - split) > 1e-9:
            problems.append(f"validation_split={_fmt(fit.validation_split)} (expected {split:g})")
    if problems and not fit.completed and stopped(obs):
        return not_reached(obs)  # the call raised (a misspelt keyword?): the crash says why
    crashed_here = not fit.completed and _stage(obs) == "while training the model"
    if not fit.trained and not crashed_here:  # (a crash in fit is the `runs` check's)
        return failed(_no_training_step(obs, fit) + "".join(f"; {p}" for p in problems),
                      "let fit train: remove what stops it before its first step (a callback "
                      f"that raises, epochs=0, no rows), then train with {call}")
    if problems:
        return failed("model.fit was called with " + "; ".join(problems),
                      f"train with {call}")
    held_out = "validation_data" if fit.has_validation_data else f"validation_split={fit.validation_split:g}"
    known = (f"; fast mode ran its first training step (whether all {epochs} epochs run shows "
             "with --full)") if obs.shortened else ""
    return passed(f"fit(epochs={epochs}, batch_size={fit.batch_size or batch}, "
                  f"{held_out}){known}")


def _no_training_step(obs: Observation, fit: FitCall) -> str:
    """Why the graded model's fit trained nothing, and what fast mode does and does not know."""
    if not fit.completed:
        why = "it raised before its first step and the script went on (a callback, say)"
    elif isinstance(fit.epochs, int) and fit.epochs <= 0:
        why = f"epochs={fit.epochs}"
    elif fit.x_rows == 0:
        why = "it was given no rows"
    else:
        why = "it returned before its first step"
    mode = (" (fast mode runs fit up to its first training step, as --full would, and it "
            "never got there)") if obs.shortened else ""
    return f"model.fit ran no training step: {why}{mode}"


_DIGITS = r"\d+(?:\.\d+)?(?:[eE][-+]?\d+)?"  # a number as a script prints or writes it
_NUMBER = re.compile(rf"(?<![\w.])({_DIGITS})(\s*%)?")
_NUMBER_TEXT = re.compile(rf"(?<![\w.]){_DIGITS}")  # the same, without groups (``findall``)
_KERAS_LOG = re.compile(r"━|/step|^Epoch \d+/\d+|\[=+")
# The caps on the grader's own reading of a run's output (see ``_printed``).
MAX_LINE_SCANNED = 500  # characters of one output line
MAX_CANDIDATES = 10_000  # printed numbers that could be the accuracy, looked at in order
MAX_TYPED_PER_NUMBER = 16  # typed texts holding one number; more: that number counts as typed
MAX_SOURCE_PARSED = 512 * 1024  # characters of source parsed; a longer one is only searched


@functools.lru_cache(maxsize=8)
def _every_number(source: str) -> frozenset[str]:
    """Every number written anywhere in ``source``, as written (one regular-expression pass)."""
    return frozenset(_NUMBER_TEXT.findall(source))


@functools.lru_cache(maxsize=8)
def _source_literals(source: str) -> frozenset[float]:
    """The numeric literals of the source (one pass of the tokenizer; past
    ``MAX_SOURCE_PARSED``, every number written in it)."""
    values = set()
    if len(source) > MAX_SOURCE_PARSED:
        return frozenset(float(text) for text in _every_number(source))
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type == tokenize.NUMBER:
                try:
                    values.add(float(token.string.replace("_", "")))
                except (ValueError, OverflowError):
                    pass
    except (tokenize.TokenError, SyntaxError, IndentationError, RecursionError, MemoryError):
        pass
    return frozenset(values)


@dataclass(frozen=True)
class _Written:
    """What a script prints exactly as its source writes it, not as its run computed it."""

    # number as written ("0.85") -> (offset in the text, text) for each line of a string
    # literal that holds words and that number, longest texts first, at most
    # MAX_TYPED_PER_NUMBER of them
    texts: dict
    numbers: frozenset[float]  # numbers handed to print (or to an f-string) as literals
    everywhere: frozenset[str]  # numbers typed in more texts than that: typed wherever printed


@functools.lru_cache(maxsize=8)
def _written(source: str) -> _Written:
    """``print("Test accuracy: 0.5")`` and ``print("Test accuracy:", 0.5)`` print what the
    source says: the number is not an accuracy the script measured. One walk of the syntax tree,
    each literal line indexed by the numbers it holds (linear in the source). A source longer
    than ``MAX_SOURCE_PARSED`` is not parsed: every number written in it counts as typed."""
    import ast

    if len(source) > MAX_SOURCE_PARSED:
        return _Written({}, frozenset(), _every_number(source))
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return _Written({}, frozenset(), frozenset())
    lines, numbers = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            lines.update(line for line in node.value.splitlines()
                         if len(line) <= MAX_LINE_SCANNED and re.search(r"\d", line)
                         and re.search(r"[^\W\d_]", line))
        values = (node.args if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                  and node.func.id == "print" else
                  [node.value] if isinstance(node, ast.FormattedValue) else [])
        numbers.update(float(v.value) for v in values if isinstance(v, ast.Constant)
                       and isinstance(v.value, (int, float)) and not isinstance(v.value, bool)
                       and not (isinstance(v.value, int) and abs(v.value) >= 2**53))
    texts: dict[str, list] = {}
    for line in sorted(lines, key=lambda text: (-len(text), text)):
        for match in _NUMBER.finditer(line):
            texts.setdefault(match.group(1), []).append((match.start(1), line))
    everywhere = frozenset(k for k, v in texts.items() if len(v) > MAX_TYPED_PER_NUMBER)
    return _Written({k: tuple(v) for k, v in texts.items() if k not in everywhere},
                    frozenset(numbers), everywhere)


def _typed(line: str, match: re.Match, written: _Written) -> bool:
    """Is this printed number part of a line of a string literal printed as typed?"""
    token, at = match.group(1), match.start(1)
    return token in written.everywhere or any(
        at >= offset and line.startswith(text, at - offset)
        for offset, text in written.texts.get(token, ()))


def _matches(printed: float, decimals: int, accuracy: float) -> bool:
    """Does ``printed`` (with ``decimals`` digits) show ``accuracy``, rounded or truncated?"""
    step = 10.0 ** -decimals
    # float32 metrics printed in full differ from their float64 copy after ~7 digits
    return abs(printed - accuracy) <= max(step / 2, 1e-6) or 0 <= accuracy - printed < step


def _shows(value: float, text: str, percent: bool, about_accuracy: bool, accuracies):
    """The accuracy a printed number shows (at whatever precision it is printed), else None."""
    decimals = len(text.split(".")[1]) if "." in text and "e" not in text.lower() else 0
    for accuracy in accuracies:
        # Matched at whatever precision it is printed: a shortened run's accuracy can be
        # a round 0.5 ("0.5", "50%", "50.0"); a bare integer counts only as a percentage.
        as_fraction = not percent and value <= 1 and decimals >= 1 and \
            _matches(value, decimals, accuracy)
        as_percent = (percent or (1 < value <= 100 and (decimals >= 1 or about_accuracy))) \
            and _matches(value, decimals, accuracy * 100)
        if as_fraction or as_percent:
            return accuracy
    return None


def _printed(stdout: str, accuracies, source: str = "") -> tuple[str, float] | None:
    """The first printed token that shows one of ``accuracies`` and that accuracy, or None.

    Linear in the output and the source, with caps: each line is read up to its first
    ``MAX_LINE_SCANNED`` (500) characters, the first ``MAX_CANDIDATES`` (10,000) numbers that
    could show an accuracy are looked at and no more, and a number typed in more than
    ``MAX_TYPED_PER_NUMBER`` (16) lines of string literals counts as typed wherever it is
    printed. (The output itself is capped at 1 MiB per stream by the observation.)
    """
    literals, written = _source_literals(source), _written(source)
    candidates = 0
    for line in stdout.splitlines():
        line = line[:MAX_LINE_SCANNED]
        if _KERAS_LOG.search(line):
            continue
        about_accuracy = "acc" in line.lower()
        for match in _NUMBER.finditer(line):
            text, percent = match.group(1), bool(match.group(2))
            try:
                value = float(text)
            except OverflowError:
                continue
            # a literal of the source printed back (a Dropout rate, as 0.5 or 50%) is not the
            # accuracy, unless its line says it is; a percentage is not the literal 50 (epochs)
            if not about_accuracy and (value / 100 if percent else value) in literals:
                continue
            if value in written.numbers:
                continue
            accuracy = _shows(value, text, percent, about_accuracy, accuracies)
            if accuracy is None:
                continue
            candidates += 1
            if candidates > MAX_CANDIDATES:
                return None
            if not _typed(line, match, written):  # the numbers in typed texts were not measured
                return match.group(0).strip(), accuracy
    return None


def printed_accuracy(stdout: str, accuracies, source: str = "") -> str | None:
    """The first printed token that shows one of ``accuracies``, as a fraction or a percentage.

    Keras' own progress lines do not count, nor does a number that is also a literal in the source
    (a Dropout rate, say) unless its line mentions accuracy.
    """
    found = _printed(stdout, accuracies, source)
    return found[0] if found else None


def own_accuracy(accuracy: float, shortened: bool) -> str:
    """The script's own test accuracy, labelled: in fast mode it comes from a model that was not
    (or barely) trained, so it is rounded and says so."""
    if shortened:
        return (f"{accuracy:.2f} from fast mode's shortened training; the grader trains your "
                "model itself")
    return f"{accuracy:.4f}"


def _evaluated_elsewhere(obs: Observation) -> str:
    """That the model was evaluated, but on other rows than the test split's (the training
    split, say), or ""."""
    if obs.split_rows is None:
        return ""
    train_rows, test_rows = obs.split_rows
    rows = [e.rows for e in obs.evaluations if not e.on_test_split and e.rows]
    if not rows:
        return ""
    which = "the training split's" if rows[-1] == train_rows else "other"
    return (f"the model was evaluated on {rows[-1]} rows ({which}), never on the test split's "
            f"{test_rows}")


def prints_accuracy(obs, training, rubric, hints) -> CheckResult:
    example = "print(f'Test accuracy: {accuracy:.4f}')"
    if not obs.test_accuracies:
        if stopped(obs):
            return not_reached(obs)
        if obs.evaluated and obs.compile and not obs.compile.has_accuracy_metric:
            return failed("evaluate returned only the loss: the model was compiled without "
                          "an accuracy metric",
                          "compile with metrics=['accuracy'] and print what evaluate returns")
        return failed(_evaluated_elsewhere(obs) or "the model was never evaluated on the test "
                      "split", f"loss, accuracy = model.evaluate(X_test, y_test), then {example}")
    found = _printed(f"{obs.stdout}\n{obs.stderr_accuracy_lines}", obs.test_accuracies,
                     obs.source)  # stdout's lines first
    if found:
        token, accuracy = found
        shown = (own_accuracy(accuracy, True) if obs.shortened  # its digits mean nothing
                 else f"printed as {inert(token, 30)}")
        return passed(f"your output shows the test accuracy your evaluation gave ({shown})")
    if stopped(obs):
        return not_reached(obs)
    shown = ", ".join(own_accuracy(a, obs.shortened) for a in dict.fromkeys(obs.test_accuracies))
    return failed(f"your output does not show the test accuracy (evaluate on the test split "
                  f"gave {shown})", example)


def _not_trained(training: TrainingResult | None, obs: Observation,
                 hints: Hints) -> CheckResult | None:
    if training is None:
        if stopped(obs):
            return not_reached(obs)
        reason = f"{yours(obs)} built no model" if obs.model is None or not obs.model.layers \
            else never_compiled(obs)
        return failed(f"the grader could not train your model: {reason}",
                      "build and compile the model; the grader then trains it itself",
                      note="no compiled model")
    if training.status != "ok":
        hint = {"refused": "use a Sequential or functional model of built-in Keras layers",
                "timeout": "use a model of the exercise's size (a few hundred units per layer)"}
        note = {"refused": "model refused by the grader",
                "timeout": "the grader's retrain timed out"}
        mismatch = label_problem(obs, training.message, hints)
        if mismatch:
            return failed(f"the grader could not train your model: {mismatch[0]}", mismatch[1],
                          note="output does not fit the loss")
        return failed(f"the grader could not train your model: {training.message}",
                      hint.get(training.status, "make sure the model trains when you run "
                      f"{yours(obs)} yourself"),
                      note=note.get(training.status, "the grader could not retrain the model"))
    return None


def loss_decreases(obs, training, rubric, hints) -> CheckResult:
    problem = _not_trained(training, obs, hints)
    if problem:
        return problem
    first, last = training.first_loss, training.last_loss
    if first is None or last is None or not (math.isfinite(first) and math.isfinite(last)):
        return failed(f"in the grader's training run the loss stopped being a number (NaN or "
                      f"infinite) after {training.epochs} epochs",
                      "check the loss and the learning rate")
    if last < first:
        return passed(f"in the grader's own run, the training loss fell from {first:.4f} to "
                      f"{last:.4f} over "
                      f"{training.epochs} epochs")
    return failed(f"in the grader's training run the loss went from {first:.4f} to "
                  f"{last:.4f}: it did not decrease",
                  "check the learning rate, the loss and the output layer")


def accuracy(obs, training, rubric, hints) -> CheckResult:
    problem = _not_trained(training, obs, hints)
    if problem:
        return problem
    threshold = float(rubric.exercise["accuracy_threshold"])
    accuracy = training.test_accuracy
    where = "in the grader's own run"
    if training.trials:
        where = (f"(median) in the grader's {len(training.trials)} runs on different data seeds, "
                 f"from {min(training.trials):.4f} to {max(training.trials):.4f}")
    if accuracy is not None and accuracy > threshold:
        return passed(f"test accuracy {accuracy:.4f} {where} (needs > {threshold:g})")
    return failed(f"test accuracy {accuracy if accuracy is None else format(accuracy, '.4f')} "
                  f"{where}; the exercise asks for more than {threshold:g}",
                  "check the output layer and loss first; then widths, dropout rate and "
                  "learning rate")


def run_checks(obs: Observation, training: TrainingResult | None, rubric: Rubric) -> list[CheckResult]:
    """Every check of the rubric's exercise, in its registry's order; with tampered evidence, the
    checks resting on it fail."""
    checks = exercise.get(rubric.exercise_name).registry.checks.values()
    results = [check(obs, training, rubric) for check in checks]
    if not obs.tampered:
        return results
    your = yours(obs)
    return [CheckResult(r.id, False, f"not counted: {obs.tampered}, so the grader cannot trust "
                                     f"what {your} reported",
                        f"let {your} build, train and evaluate its model with Keras as it "
                        "is; do not touch the grader or Keras itself", note="tampered")
            if check.from_the_channel else r for check, r in zip(checks, results)]
