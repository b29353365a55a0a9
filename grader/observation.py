"""Turn the sandbox's untrusted events into a frozen ``Observation`` the checks can read.

The data classes live in ``grader.core.observation`` (imported here, so their old names still work).

This is the only module that reads Keras' serialized config. It imports no TensorFlow: every value
is validated for type and range here, so a malformed or forged event degrades to "not observed".
"""

from __future__ import annotations

import base64
import binascii
import math

from grader.core.observation import (  # noqa: F401 - the old names of the data classes
    Callback, CompileInfo, ErrorInfo, Evaluation, Figure, FitCall, Layer, ModelInfo, Observation)
from grader.retrain.allowlist import RUNS_CODE
from grader.sandbox import SandboxRun
from grader.sandbox.channel import MAX_FIGURES, MAX_PNG_BYTES
from grader.text import MAX_OUTPUT, inert

MAX_CONFIG_DEPTH = 48  # a Sequential in a functional model in a Sequential is about 12 deep
MAX_LAYERS = 1000
MAX_UNITS = 1_000_000  # a Dense width (or an input width) past this is not read as one

DROPOUT_LAYERS = {"Dropout", "AlphaDropout", "GaussianDropout", "SpatialDropout1D",
                  "SpatialDropout2D", "SpatialDropout3D"}
ACTIVATION_LAYERS = {"ReLU": "relu", "LeakyReLU": "leaky_relu", "PReLU": "prelu", "ELU": "elu",
                     "Softmax": "softmax"}
CONTAINER_CLASSES = {"Sequential", "Functional", "Model"}
_ACTIVATION_ALIASES = {"swish": "silu", None: "linear", "": "linear"}
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def applied_activation(layers: tuple[Layer, ...], index: int, stop: int) -> str:
    """The non-linearity applied after layer ``index``: its own, or a later activation layer
    before the next Dense (BatchNormalization or Dropout may sit between)."""
    own = layers[index].activation or "linear"
    if own != "linear":
        return own
    for layer in layers[index + 1:stop]:
        if layer.kind == "Dense":
            break
        if layer.activation and layer.activation != "linear":
            return layer.activation
    return "linear"


def output_activation(model: ModelInfo) -> str | None:
    """What the model's last Dense layer finally outputs through (None without a Dense)."""
    dense = [i for i, layer in enumerate(model.layers) if layer.kind == "Dense"]
    return applied_activation(model.layers, dense[-1], len(model.layers)) if dense else None


# ---------------------------------------------------------------- small validators

def _num(value) -> float | None:
    """A finite number, or None (booleans, huge integers, NaN and infinities are not numbers)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _int(value) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value if abs(value) < 2**53 else None
    number = _num(value)
    return int(number) if number is not None and number == int(number) else None


def _units(value) -> int | None:
    """A layer's or an input's width: a whole number from 1 to ``MAX_UNITS``, else None
    (negative, zero, huge, fractional, NaN, a bool or not a number: a script can set
    ``layer.units = -1`` on a layer Keras has not built yet)."""
    number = _int(value)
    return number if number is not None and 1 <= number <= MAX_UNITS else None


def _str(value, limit=200) -> str:
    return inert(value, limit) if isinstance(value, str) else ""


def _plain(value, limit=200):
    """A value fit to show: a number, a bool, None, short inert text, or its type's name."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        number = _num(value)
        return value if number is not None and (not isinstance(value, int) or _int(value) is not None) \
            else "<not a finite number>"
    if isinstance(value, str):
        return inert(value, limit)
    if isinstance(value, list) and len(value) <= 8 and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and _num(v) is not None
            for v in value):
        return list(value)
    return f"<{type(value).__name__}>"


def _plain_kwargs(value) -> dict:
    """Recorded call arguments, each reduced to something safe to compare and show."""
    return {inert(k, 60): (_plain(v) if not isinstance(v, dict) else
                           {inert(a, 30): _plain(b) for a, b in list(v.items())[:8]})
            for k, v in list(_dict(value).items())[:50] if isinstance(k, str)}


def config_depth(node, limit: int = MAX_CONFIG_DEPTH) -> int:
    """How deeply lists and dicts nest in ``node`` (counting stops just past ``limit``)."""
    deepest, stack = 0, [(node, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return depth
        deepest = max(deepest, depth)
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        stack.extend((child, depth + 1) for child in children
                     if isinstance(child, (dict, list)))
    return deepest


def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def activation_name(value) -> str | None:
    """'relu', tf.nn.relu and keras.activations.relu all serialize to a name; normalise it."""
    if isinstance(value, dict):
        value = value.get("config") if value.get("class_name") == "function" else value.get("class_name")
    if value is None or isinstance(value, str):
        name = inert(value or "", 40).strip().lower()
        return _ACTIVATION_ALIASES.get(name, name)
    return "unknown"


def _regularizer(value) -> tuple[float, float]:
    """(l2, l1) factors of a serialized regularizer."""
    config = _dict(_dict(value).get("config"))
    kind = _str(_dict(value).get("class_name"))
    l2 = _num(config.get("l2")) if kind in ("L2", "L1L2", "OrthogonalRegularizer") else None
    l1 = _num(config.get("l1")) if kind in ("L1", "L1L2") else None
    if kind == "OrthogonalRegularizer":
        l2 = None
    return (l2 or 0.0, l1 or 0.0)


def _layer(entry: dict) -> Layer:
    kind = _str(entry.get("class_name"))
    config = _dict(entry.get("config"))
    name = _str(config.get("name"))
    if kind == "Dense":
        kernel_l2, kernel_l1 = _regularizer(config.get("kernel_regularizer"))
        bias_l2, _ = _regularizer(config.get("bias_regularizer"))
        return Layer(kind, name, units=_units(config.get("units")),
                     activation=activation_name(config.get("activation")),
                     kernel_l2=kernel_l2, kernel_l1=kernel_l1, bias_l2=bias_l2)
    if kind == "Activation":
        return Layer(kind, name, activation=activation_name(config.get("activation")))
    if kind in ACTIVATION_LAYERS:
        return Layer(kind, name, activation=ACTIVATION_LAYERS[kind])
    if kind in DROPOUT_LAYERS:
        return Layer(kind, name, rate=_num(config.get("rate")))
    return Layer(kind, name)


def _flatten(entries, out: list[Layer], problems: list[str], dims: list[int], depth: int = 0) -> None:
    """Layers in forward order; nested Sequential/functional models are opened up."""
    if depth > MAX_CONFIG_DEPTH:
        problems.append("its models are nested too deeply to read")
        return
    for entry in entries if isinstance(entries, list) else []:
        if len(out) >= MAX_LAYERS:
            problems.append(f"it has more than {MAX_LAYERS} layers")
            return
        entry = _dict(entry)
        kind = _str(entry.get("class_name"))
        config = _dict(entry.get("config"))
        module = _str(entry.get("module"))
        if kind in CONTAINER_CLASSES and isinstance(config.get("layers"), list):
            _flatten(config["layers"], out, problems, dims, depth + 1)
            continue
        if kind == "InputLayer":
            shape = config.get("batch_shape") or config.get("batch_input_shape")
            if isinstance(shape, list) and shape and _units(shape[-1]):
                dims.append(_units(shape[-1]))
            continue
        if kind in RUNS_CODE:
            problems.append(f"a {kind} layer runs arbitrary code, so the grader will not rebuild it")
        elif module and not module.startswith("keras"):
            problems.append(f"the layer {kind!r} is your own class, so the grader cannot rebuild it "
                            "from its config")
        shape = config.get("batch_shape") or config.get("batch_input_shape")
        if isinstance(shape, list) and shape and _units(shape[-1]):
            dims.append(_units(shape[-1]))
        layer = _layer(entry)
        if kind == "Dense" and layer.units is None:
            problems.append(f"its Dense layer {layer.name or len(out)!r} has "
                            f"units={_plain(config.get('units'), 40)!r}; a Dense layer needs a "
                            f"whole number of units from 1 to {MAX_UNITS:,}")
        out.append(layer)


def _model(info: dict) -> ModelInfo | None:
    info = _dict(info)
    uid = _int(info.get("uid"))
    if uid is None:
        return None
    class_name = _str(info.get("class"))
    config = info.get("config") if isinstance(info.get("config"), dict) else None
    layers: list[Layer] = []
    problems: list[str] = []
    dims: list[int] = []
    if config is None:
        problems.append("its config could not be saved: " + (_str(info.get("config_error"), 300)
                                                             or "unknown reason"))
    elif config_depth(config) > MAX_CONFIG_DEPTH:
        problems.append(f"its config nests more than {MAX_CONFIG_DEPTH} levels deep")
        config = None
    if class_name in CONTAINER_CLASSES and config is not None:
        _flatten(_dict(config.get("config")).get("layers"), layers, problems, dims)
    else:
        _flatten(info.get("sublayers"), layers, problems, dims)
        if class_name not in CONTAINER_CLASSES:
            problems.insert(0, f"it is a subclassed model ({class_name}); the grader only rebuilds "
                               "Sequential and functional models")
    return ModelInfo(uid=uid, class_name=class_name, layers=tuple(layers), config=config,
                     input_dim=dims[0] if dims else None,
                     problem="; ".join(dict.fromkeys(problems)) or None)


_LOSS_NAMES = {
    "binarycrossentropy": "binary_crossentropy", "binary_crossentropy": "binary_crossentropy",
    "bce": "binary_crossentropy", "binaryfocalcrossentropy": "binary_focal_crossentropy",
    "binary_focal_crossentropy": "binary_focal_crossentropy",
    "categoricalcrossentropy": "categorical_crossentropy",
    "categorical_crossentropy": "categorical_crossentropy",
    "sparsecategoricalcrossentropy": "sparse_categorical_crossentropy",
    "sparse_categorical_crossentropy": "sparse_categorical_crossentropy",
    "meansquarederror": "mean_squared_error", "mean_squared_error": "mean_squared_error",
    "mse": "mean_squared_error", "meanabsoluteerror": "mean_absolute_error",
    "mean_absolute_error": "mean_absolute_error", "mae": "mean_absolute_error",
    "hinge": "hinge",
}


def _compile(info) -> CompileInfo | None:
    if not isinstance(info, dict):
        return None
    loss = info.get("loss")
    from_logits = False
    if isinstance(loss, str):
        raw = _str(loss, 100)
    elif isinstance(loss, dict) and loss.get("class_name") == "function":
        raw = _str(loss.get("config"))
    elif isinstance(loss, dict):
        raw = _str(loss.get("class_name"))
        from_logits = _dict(loss.get("config")).get("from_logits") is True
    else:
        raw = ""
    name = _LOSS_NAMES.get(raw.lower(), raw.lower() or None) if raw else None
    optimizer = info.get("optimizer")
    optimizer_name = (_str(_dict(optimizer).get("class_name")) or _str(optimizer)) or None
    metrics = info.get("metrics")
    metric_text = repr(metrics).lower() if metrics is not None else ""
    return CompileInfo(loss=name, from_logits=from_logits, loss_config=loss,
                       optimizer_config=optimizer, optimizer=optimizer_name,
                       has_accuracy_metric="acc" in metric_text)


MAX_CALLBACKS = 20


def _callbacks(value) -> tuple[Callback, ...]:
    """The probe's ``callback_settings``: ``[{"class": str, "monitor": str | None}, ...]``."""
    found = []
    for entry in value[:MAX_CALLBACKS] if isinstance(value, list) else ():
        entry = _dict(entry)
        kind = _str(entry.get("class"), 60)
        if kind:
            found.append(Callback(kind, _str(entry.get("monitor"), 60)))
    return tuple(found)


def _fit(kwargs, model: ModelInfo | None = None, optimizer: str | None = None) -> FitCall:
    kwargs = _dict(kwargs)
    callbacks = kwargs.get("callbacks")
    return FitCall(
        epochs=_plain(kwargs.get("epochs", 1)), batch_size=_plain(kwargs.get("batch_size")),
        validation_split=_plain(kwargs.get("validation_split", 0.0)),
        has_validation_data=kwargs.get("has_validation_data") is True,
        callbacks=tuple(_str(c, 60) for c in callbacks[:MAX_CALLBACKS] if isinstance(c, str))
        if isinstance(callbacks, list) else (),
        completed=kwargs.get("completed", True) is not False,
        callback_settings=_callbacks(kwargs.get("callback_settings")),
        model_uid=model.uid if model else None,
        dropout_rates=tuple(layer.rate for layer in model.layers
                            if layer.kind in DROPOUT_LAYERS and layer.rate is not None)
        if model else (),
        x_rows=_count(kwargs.get("x_rows")),
        steps=_int(kwargs.get("steps")),
        label_width=_count(kwargs.get("y_columns")) or None,
        optimizer=optimizer,
    )


def _fit_optimizer(info) -> str | None:
    """The optimizer's class name of a fit event's compile settings, else None."""
    compiled = _compile(info) if isinstance(info, dict) else None
    return compiled.optimizer if compiled else None


def _count(value) -> int | None:
    """A row count the probe reported: a non-negative integer, else None."""
    number = _int(value)
    return number if number is not None and number >= 0 else None


def _shapes(value) -> list:
    """``train_test_split``'s output shapes: short lists of small integers."""
    if not isinstance(value, list):
        return []
    return [[_int(n) for n in shape[:4]] if isinstance(shape, list) else [] for shape in value[:8]]


def _evaluate_accuracies(event: dict) -> list[float]:
    """Metric values from an evaluate call (everything but the loss)."""
    result = event.get("result")
    if isinstance(result, dict):
        values = [v for k, v in result.items() if isinstance(k, str) and "loss" not in k.lower()]
    elif isinstance(result, list):
        values = result[1:]
    else:
        values = []
    return [v for v in (_num(x) for x in values) if v is not None and 0.0 <= v <= 1.0]


def _evaluation(event: dict) -> Evaluation:
    """One evaluate or predict event: the model's uid and the accuracies it gave."""
    if event.get("event") == "predict":
        accuracy = _num(event.get("accuracy"))
        accuracies = [accuracy] if accuracy is not None else []
        on_test = accuracy is not None
    else:
        accuracies = _evaluate_accuracies(event)
        on_test = event.get("on_test_split") is True
    return Evaluation(_int(event.get("uid")), tuple(accuracies[:8]), on_test,
                      _count(event.get("rows")))


def _error(event: dict) -> ErrorInfo:
    return ErrorInfo(type=_str(event.get("type"), 80) or "Error", message=_str(event.get("message"), 1000),
                     lineno=_int(event.get("lineno")), line=_str(event.get("line")),
                     kind=_str(event.get("kind"), 20) or "exception")


def _figure(event: dict) -> Figure | None:
    """A figure event as a ``Figure``, or None unless it holds a real PNG of a sane size."""
    png = event.get("png")
    if not isinstance(png, str) or len(png) > MAX_PNG_BYTES * 4 // 3 + 4:
        return None
    try:
        data = base64.b64decode(png, validate=True)
    except (binascii.Error, ValueError):
        return None
    if not data.startswith(PNG_MAGIC) or len(data) > MAX_PNG_BYTES:
        return None
    title = _str(event.get("title"))
    if not title:
        labels = [_str(event.get(k), 100) for k in ("ylabel", "xlabel")]
        title = " vs ".join(label for label in labels if label)
    plotted = event.get("plotted")
    keys = tuple(dict.fromkeys(_str(k, 60) for k in plotted[:20] if isinstance(k, str)
                               and _str(k, 60))) if isinstance(plotted, list) else ()
    return Figure(title=title, png=data, plotted=keys)


def _names(end: dict | None) -> dict[int, str]:
    """The end event's module-level names of models, uid -> name (``model`` first)."""
    names: dict[int, str] = {}
    entries = _dict(end).get("names")
    for entry in entries[:100] if isinstance(entries, list) else ():
        uid, name = _int(_dict(entry).get("uid")), _dict(entry).get("name")
        if uid is not None and isinstance(name, str) and name.isidentifier() and len(name) <= 60 \
                and (uid not in names or name == "model"):
            names[uid] = name
    return names


def graded_uid(events, name_of) -> tuple[int | None, str]:
    """The model the checks judge, and why: the one the script trained (a fit that ran a
    training step) and then evaluated on the test split, else the last one trained; among
    several, the module-level ``model`` if it is one, else the last trained. (None, "") when
    nothing was trained (the caller then takes the module-level ``model``, as the end names it)."""
    last_trained: dict[int, None] = {}  # in the order last trained (linear in the events)
    evaluated: set[int] = set()
    for event in events:
        kind = event.get("event")
        if kind == "fit" and _int(event.get("steps")) != 0:
            uid = _int(_dict(event.get("model")).get("uid"))
            if uid is not None:
                last_trained.pop(uid, None)
                last_trained[uid] = None
        elif kind in ("evaluate", "predict"):
            evaluation = _evaluation(event)
            if evaluation.on_test_split and evaluation.model_uid in last_trained:
                evaluated.add(evaluation.model_uid)
    trained = list(last_trained)
    for tier, why in (([u for u in trained if u in evaluated],
                       "trained and then evaluated on the test split"),
                      (trained, "trained, but never evaluated on the test split afterwards")):
        if tier:
            chosen = next((u for u in tier if name_of(u) == "model"), tier[-1])
            if len(tier) > 1:
                which = "the module-level `model`" if name_of(chosen) == "model" else "the last"
                why += f" ({which} of {len(tier)} such models)"
            return chosen, why
    return None, ""


def _graded_note(model: ModelInfo, name: str | None, why: str) -> str:
    """"`real`, trained and then evaluated on the test split": which model, and why."""
    widths = " → ".join(str(layer.units) for layer in model.layers if layer.kind == "Dense")
    label = f"`{name}`" if name else f"a {model.class_name or 'Keras'} model" + \
        (f" (Dense {widths})" if widths else "")
    return inert(f"{label}, {why}" if why else label, 200)


# How a run can end before the probe says the student's code starts: the grader's failure.
_BEFORE_START = {"killed": "ended abruptly", "no_start": "could not start",
                 "timeout": "ran out of time", "memory": "ran out of memory",
                 "processes": "started too many processes"}


def observe(run: SandboxRun, source: str = "") -> Observation:
    """Build the observation from one sandbox run."""
    events = [e for e in run.events if isinstance(e, dict)]
    end = next((e for e in reversed(events) if e.get("event") == "end"), None)
    models = {}
    compiles = {}
    for event in events:
        if event.get("event") in ("compile", "fit", "end"):
            model = _model(event.get("model"))
            if model is not None:
                models[model.uid] = model
                if event.get("compile") is not None:
                    compiles[model.uid] = _compile(event.get("compile"))
    names = _names(end)
    uid, why = graded_uid(events, names.get)
    graded = models.get(uid) if uid is not None else None
    if graded is None:  # nothing was trained: the module-level `model`, as the end describes it
        if end is not None and end.get("model") is not None:
            graded = _model(end.get("model"))
        if graded is None:
            last = [e for e in events if e.get("event") in ("compile", "fit")]
            graded = _model(last[-1].get("model")) if last else None
        if graded is not None:
            graded = models.get(graded.uid, graded) if end is None else graded
            why = ("the module-level model" if names.get(graded.uid) == "model" else
                   "the last model built or compiled") + " (no model was trained)"
    uid = graded.uid if graded else None
    compile_info = compiles.get(uid) if uid is not None else None
    end_model = _model(end.get("model")) if end is not None else None
    if end_model is not None and end_model.uid == uid and end.get("compile") is not None:
        compile_info = _compile(end.get("compile"))

    fit_events = [e for e in events if e.get("event") == "fit"]
    all_fits = tuple(_fit({**_dict(e.get("kwargs")), "completed": e.get("completed", True),
                           "steps": e.get("steps")}, _model(e.get("model")),
                          _fit_optimizer(e.get("compile"))) for e in fit_events)
    own_fits = tuple(f for f in all_fits if f.model_uid is not None and f.model_uid == uid)
    fits = own_fits or all_fits

    accuracies: list[float] = []
    evaluated = False
    for pick_own in (True, False):
        for event in events:
            if pick_own and event.get("uid") != uid:
                continue
            if event.get("event") == "evaluate":
                evaluated = True
                if event.get("on_test_split") is True:
                    accuracies += _evaluate_accuracies(event)
            elif event.get("event") == "predict" and _num(event.get("accuracy")) is not None:
                evaluated = True
                accuracies.append(_num(event["accuracy"]))
        if accuracies:
            break

    evaluations = tuple(_evaluation(e) for e in events if e.get("event") in ("evaluate", "predict"))

    errors = [_error(e) for e in events if e.get("event") == "error"]
    error = errors[-1] if errors else None
    if run.status == "timeout":
        status, error = "timeout", ErrorInfo("Timeout", "", None, "", "timeout")
    elif run.status == "memory":
        status, error = "memory", ErrorInfo("MemoryLimit", "", None, "", "memory")
    elif run.status == "processes":
        status, error = "processes", ErrorInfo("ProcessLimit", "", None, "", "processes")
    elif run.status == "no_start":
        status, error = "no_start", ErrorInfo("NoStart", run.detail, None, "", "killed")
    elif error is not None:
        status = "error"
    elif end is None and run.exit_code != 0:
        status = "killed"
        error = ErrorInfo("Killed", f"the process ended with status {run.exit_code}", None, "",
                          "killed")
    else:
        status = "completed"
    if status in _BEFORE_START and not any(e.get("event") == "start" for e in events):
        detail = f" ({run.detail})" if status == "no_start" and run.detail else ""
        status, error = "grader_error", ErrorInfo(
            "GraderError", f"its sandbox {_BEFORE_START[status]}{detail}", None, "", "grader")
    sandbox = next((e for e in events if e.get("event") == "sandbox"), {})
    protections = {_str(k, 40): _str(v) for k, v in _dict(sandbox.get("protections")).items()}
    return Observation(
        status=status, error=error, tampered=inert(run.tampered, 300),
        data_calls=tuple(_plain_kwargs(e.get("kwargs")) for e in events if e.get("event") == "data"),
        split_calls=tuple({**_plain_kwargs(e.get("kwargs")), "shapes": _shapes(e.get("shapes"))}
                          for e in events if e.get("event") == "split"),
        model=graded, graded=_graded_note(graded, names.get(uid), why) if graded else "",
        compile=compile_info, fits=fits, all_fits=all_fits,
        evaluations=evaluations, test_accuracies=tuple(accuracies),
        evaluated=evaluated, stdout=inert(run.stdout, MAX_OUTPUT, multiline=True), source=source,
        stderr_accuracy_lines=inert("\n".join(line for line in run.stderr.splitlines()
                                              if "acc" in line.lower())[-MAX_OUTPUT:],
                                    MAX_OUTPUT, multiline=True),
        protections=protections,
        shortened=any(e.get("shortened") is True for e in fit_events),
        wall_seconds=run.wall_seconds, peak_memory_mb=run.peak_memory_mb,
        limits_enforced_by=run.limits_enforced_by, backend=run.backend,
        rerun_because=inert(run.rerun_because, 100), output_truncated=run.output_truncated,
        figures=tuple(f for f in (_figure(e) for e in events if e.get("event") == "figure")
                      if f is not None)[:MAX_FIGURES],
    )


def retrain_config(config: dict, n_features: int) -> dict:
    """A copy of the model config for the grader's own data: inputs resized, build state dropped.

    Resizing keeps a wrong ``n_features`` a failure of the ``data`` check alone.
    """
    def walk(node):
        if isinstance(node, list):
            return [walk(item) for item in node]
        if not isinstance(node, dict):
            return node
        out = {k: walk(v) for k, v in node.items()
               if k not in ("build_config", "compile_config")}
        config = out.get("config")
        if isinstance(config, dict) and isinstance(out.get("class_name"), str):
            for key in ("batch_shape", "batch_input_shape"):
                shape = config.get(key)
                if isinstance(shape, list) and len(shape) == 2:
                    config[key] = [None, n_features]
            if "input_shape" in config and isinstance(config["input_shape"], list) \
                    and len(config["input_shape"]) == 1:
                config["input_shape"] = [n_features]
        return out

    return walk(config)
