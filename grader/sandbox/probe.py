"""The only grader code that runs beside student code, inside the sandbox.

Protocol: ``python -I -B -m grader.sandbox.probe SPEC_JSON`` where SPEC_JSON is ``{"workdir",
"script", "events_fd", "full", "backend", "disk_mb", "cgroup_procs"}``. ``backend`` is Keras'
backend, chosen before the script runs (on NumPy, fast mode records ``fit`` instead of training).
``events_fd`` is a socket: the probe first reads the channel key from it (``channel``), before any
student code exists. It then confines itself (``confine``; it is PID 1 of a new PID namespace
afterwards), forks the process that runs the student's script as ``__main__`` in ``workdir``, and
writes one signed, numbered JSON line per event as things happen, so a crash, a time-out or a kill
still leaves everything observed up to that moment:

- ``{"event": "sandbox", "protections": {...}}``       what the OS let us apply
- ``{"event": "start"}``                               the student's code starts now (a run
  that ends before this line failed in the grader's own set-up, not in the script)
- ``{"event": "data", "kwargs": {...}}``               each ``make_classification`` call
- ``{"event": "split", "kwargs": {...}, "shapes": [...]}``  each ``train_test_split`` call
- ``{"event": "compile", "model": {...}, "compile": {...}}``
- ``{"event": "fit", "model": {...}, "compile": {...}, "kwargs": {...}, "shortened": bool,
  "completed": bool, "steps": int | null}``  (``kwargs.callback_settings``: ``[{"class",
  "monitor"}]`` per callback; ``steps``: the training steps this call ran, null when unknown;
  0 when the probe's own first callback saw no training batch end)
- ``{"event": "evaluate", "uid", "rows", "on_test_split", "result"}``
- ``{"event": "predict", "uid", "rows", "accuracy"}``  accuracy when rows are the test split
- ``{"event": "error", "type", "message", "lineno", "line", "kind"}``
- ``{"event": "figure", "key", "title", "xlabel", "ylabel", "png", "plotted"}``  each figure the
  script saved (``savefig``) or showed (``plt.show()``, or still open at the end), just before
  ``end``: a base64 PNG (at most ``MAX_FIGURES`` of them, each at most ``MAX_PNG_BYTES``, about
  100 dpi) and the ``History`` keys ("loss", "val_loss", ...) whose values its lines plot
- ``{"event": "end", "exit_code", "model": {...} | null, "compile": {...} | null,
  "names": [{"uid", "name"}]}``  the module-level ``model`` (else the last model compiled or
  trained), and the module-level names of the script's models (the observation picks the
  graded one: see ``observation.graded_uid``)
- ``{"event": "tamper", "reason"}``   the probe saw its own code, or Keras', changed under it

Everything here is untrusted once student code has started: the parent validates it all. The
signature only proves that the probe's own emitter wrote a line; the emitter refuses callers
other than the probe's own functions, and the probe checks before each description that neither
its functions nor the Keras methods it relies on were replaced.
"""

import contextlib
import inspect
import json
import os
import sys
import traceback

from grader.sandbox import channel
from grader.sandbox import confine as _confine

_getframe = sys._getframe
_SCRIPT = ""
_TEST_SPLIT = {"rows": None, "y": None, "from_data": False}
_DATA_ROWS = [None]
_LAST_MODEL = [None]
_NEXT_UID = [0]
_IN_FIT = [0]  # Keras' fit validates through evaluate: those calls are not the student's
_RECORDED_STEPS = [0]  # the steps fast mode's recorded fit ran (on NumPy, in place of training)
_TRAINED = {}  # uid -> each model a fit ran a training step of, in the order last trained
_HISTORIES = []  # what the script's fit calls returned, to recognise plotted training curves
_FIGURES = {}  # id(figure) -> (figure, event fields), in the order first captured
MAX_FIGURES, MAX_PNG_BYTES = channel.MAX_FIGURES, channel.MAX_PNG_BYTES
MAX_PIXELS = 2000  # the longer side of a rendered figure


def _make_emitter(fd, signer):
    """The only writer of the channel: signs and numbers each event; never raises into student
    code. Callers other than the probe's own functions (``allowed``) are reported as tampering."""
    seq = [0]
    allowed = set()
    sign, write, default = channel.sign, os.write, _jsonable  # bound now: the script may patch

    def emit(event, **fields):
        if allowed and _getframe(1).f_code not in allowed:
            event, fields = "tamper", {"reason": "the script called the grader's probe to write "
                                                 "an event"}
        try:
            line = sign(signer, seq[0], event, fields, default=default)
        except Exception:  # noqa: BLE001 - an unserializable value must not lose the event
            line = sign(signer, seq[0], "unreadable", {})
        seq[0] += 1
        try:
            view = memoryview(line)
            while view:
                view = view[write(fd, view):]
        except OSError:  # a closed channel must not change the student's run
            pass

    return emit, allowed


def _read_key(fd):
    key = b""
    while len(key) < channel.KEY_BYTES:
        chunk = os.read(fd, channel.KEY_BYTES - len(key))
        if not chunk:
            raise OSError("the supervisor sent no channel key")
        key += chunk
    return key


def _jsonable(value):
    for attr in ("tolist", "item"):  # numpy scalars and arrays
        if hasattr(value, attr):
            try:
                return getattr(value, attr)()
            except Exception:  # noqa: BLE001
                break
    if isinstance(value, (tuple, set, frozenset)):
        return list(value)
    return repr(value)[:200]


def _scalar_kwargs(bound):
    """Arguments that are plain values; arrays and objects are summarised by their type."""
    out = {}
    for name, value in bound.items():
        if value is None or isinstance(value, (bool, int, float, str)):
            out[name] = value
        elif hasattr(value, "shape"):
            out[name] = {"shape": list(getattr(value, "shape", ()) or ())}
        elif isinstance(value, (list, tuple)) and all(isinstance(v, (int, float, str)) for v in value):
            out[name] = list(value)[:50]
        else:
            out[name] = {"type": type(value).__name__}
    return out


def _bind(func, args, kwargs):
    try:
        bound = inspect.signature(func).bind(*args, **kwargs)
    except TypeError:
        return dict(kwargs)
    arguments = dict(bound.arguments)
    for name, param in inspect.signature(func).parameters.items():
        if param.kind is param.VAR_KEYWORD and name in arguments:
            arguments.update(arguments.pop(name))
    return arguments


MAX_DATASET_BATCHES = 10_000  # a tf.data dataset is counted only when it is this short


def _columns(y):
    """How many label columns ``y`` has: 1 for a vector of integers, k for one-hot rows; else
    None (a dataset, a list, no labels)."""
    shape = getattr(y, "shape", None)
    try:
        if shape is not None and len(shape) in (1, 2):
            return 1 if len(shape) == 1 else int(shape[1])
    except Exception:  # noqa: BLE001 - an object the script made may raise anything
        return None
    return None


def _rows(x):
    """How many rows ``x`` holds: an array's first dimension, or the rows of a finite
    ``tf.data`` dataset of (features, labels) batches (``evaluate(test_ds)``); else None."""
    shape = getattr(x, "shape", None)
    try:
        if shape:
            return int(shape[0])
        if type(x).__module__.startswith("tensorflow") and hasattr(x, "cardinality"):
            return _dataset_rows(x)
    except Exception:  # noqa: BLE001 - an object the script made may raise anything
        return None
    return None


def _dataset_rows(dataset) -> int | None:
    batches = int(dataset.cardinality())
    if not 0 <= batches <= MAX_DATASET_BATCHES:  # infinite (-1) or unknown (-2): not counted
        return None
    rows = 0
    for element in dataset:
        first = element[0] if isinstance(element, (tuple, list)) else element
        rows += int(first.shape[0]) if len(first.shape) else 1
    return rows


def _uid(model):
    uid = model.__dict__.get("_grader_uid")
    if uid is None:
        _NEXT_UID[0] += 1
        uid = model.__dict__["_grader_uid"] = _NEXT_UID[0]
    return uid


def _describe_model(model):
    """The model's Keras config (plus its flat layer list, for subclassed models)."""
    import keras

    info = {"uid": _uid(model), "class": type(model).__name__, "built": bool(model.built)}
    try:
        info["config"] = keras.saving.serialize_keras_object(model)
        json.dumps(info["config"], default=_jsonable)
    except Exception as exc:  # noqa: BLE001
        info["config"] = None
        info["config_error"] = f"{type(exc).__name__}: {exc}"[:500]
    if type(model).__name__ not in ("Sequential", "Functional"):
        sublayers = []
        for layer in getattr(model, "layers", []):
            try:
                sublayers.append(keras.saving.serialize_keras_object(layer))
            except Exception:  # noqa: BLE001
                sublayers.append({"class_name": type(layer).__name__, "config": {}})
        info["sublayers"] = sublayers
    return info


def _describe_compile(model):
    import keras

    config = getattr(model, "_compile_config", None)
    if config is None or not getattr(model, "compiled", False):
        return None
    args = getattr(config, "config", {}) or {}
    out = {}
    for key in ("loss", "metrics"):
        try:
            out[key] = keras.saving.serialize_keras_object(args.get(key))
            json.dumps(out[key])
        except Exception:  # noqa: BLE001
            out[key] = {"unserializable": repr(args.get(key))[:200]}
    try:
        out["optimizer"] = keras.saving.serialize_keras_object(model.optimizer)
        json.dumps(out["optimizer"], default=_jsonable)
    except Exception:  # noqa: BLE001
        out["optimizer"] = {"unserializable": repr(args.get("optimizer"))[:200]}
    return out


def _accuracy_from_predictions(pred, y):
    import numpy as np

    pred = np.asarray(pred, dtype="float64")
    y = np.asarray(y).reshape(-1)
    if pred.ndim == 2 and pred.shape[1] > 1:
        labels = pred.argmax(axis=1)
    else:
        pred = pred.reshape(-1)
        threshold = 0.5 if (pred.min() >= 0 and pred.max() <= 1) else 0.0
        labels = (pred > threshold).astype(int)
    if labels.shape != y.shape:
        return None
    return float((labels == y).mean())


def _callbacks_in(callbacks) -> list:
    """The callbacks fit was given: a list or tuple of them, or a Keras ``CallbackList`` (which
    is not iterable: its ``callbacks``); anything else holds none the probe can name."""
    if isinstance(callbacks, (list, tuple)):
        return list(callbacks)
    inner = getattr(callbacks, "callbacks", None) if callbacks is not None else None
    return list(inner) if isinstance(inner, list) else []


def _callback_settings(callbacks):
    """Each callback's class and the quantity it monitors (EarlyStopping, ReduceLROnPlateau)."""
    out = []
    try:
        for callback in _callbacks_in(callbacks)[:20]:
            monitor = getattr(callback, "monitor", None)
            out.append({"class": type(callback).__name__,
                        "monitor": monitor[:60] if isinstance(monitor, str) else None})
    except Exception:  # noqa: BLE001 - an odd callbacks argument is fit's business, not ours
        pass
    return out


def _pad_history(history, first, requested):
    """Give a shortened run's History every epoch the script asked for (repeating the last
    values), so code that plots or indexes it works as it would after the full run."""
    try:
        for values in history.history.values():
            if isinstance(values, list) and values:
                values.extend([values[-1]] * (requested - first - len(values)))
        history.epoch = list(range(first, requested))
        history.params["epochs"] = requested
    except Exception:  # noqa: BLE001 - a History the script replaced is its own business
        pass


# Where Keras keeps what describing a model calls: serialization (and what it imports), the
# registry of custom names, the public names of Keras classes.
_SERIALIZER_MODULES = ("keras.src.saving.serialization_lib", "keras.src.saving.object_registration",
                       "keras.src.saving.keras_saveable", "keras.src.api_export",
                       "keras.src.utils.python_utils", "keras.src.backend.common.global_state",
                       "keras.saving")
_NAMESPACES = ("keras", "keras.layers", "keras.regularizers", "keras.initializers",
               "keras.optimizers", "keras.losses", "keras.models", "keras.callbacks")


class _Guard:
    """Notices when the script replaces what the probe's evidence rests on: the probe's own
    functions, the Keras classes and methods that build, compile, train and describe a model,
    and the serializer's functions; each by identity and by code (a function's ``__code__``,
    defaults and closure can be swapped without replacing it)."""

    _INSTANCE_METHODS = ("get_config", "get_build_config", "get_compile_config", "call")
    _FIELDS = frozenset({"emit", "probe", "code", "methods", "functions", "classes",
                         "loaded"})

    def __init__(self, keras, emit, functions=()):
        import importlib

        self.emit = emit
        self.probe = {name: value for name, value in globals().items()
                      if callable(value) or isinstance(value, type(sys))}
        own = [v for v in self.probe.values() if inspect.isfunction(v)] + list(functions)
        own += [v for v in vars(_Guard).values() if inspect.isfunction(v)]
        namespaces = [importlib.import_module(name) for name in _NAMESPACES]
        classes = {keras.Model, keras.Sequential, keras.layers.Layer}
        for namespace in namespaces:
            classes.update(v for v in vars(namespace).values() if isinstance(v, type))
        for cls in list(classes):
            classes.update(base for base in cls.__mro__
                           if base.__module__.startswith(("keras", "tensorflow")))
        # Every class a loaded Keras module defines (Functional too, which no namespace names),
        # by identity: a class claiming a Keras module must be one of them.
        self.loaded = frozenset(name for name in list(sys.modules) if name.startswith("keras"))
        self.classes = {id(v): v for name in self.loaded for v in list(vars(sys.modules[name]).values())
                        if isinstance(v, type) and v.__module__ == name}
        self.classes.update((id(cls), cls) for cls in classes)
        self.methods = {(cls, name): value for cls in classes
                        for name, value in list(vars(cls).items())
                        if callable(value) or isinstance(value, (property, classmethod,
                                                                 staticmethod))}
        # Every function and class the serializer's modules hold, and every class's public
        # names and the name of its own module (what a config's class_name/module point at).
        self.functions = [(module, name, value)
                          for module in map(importlib.import_module, _SERIALIZER_MODULES)
                          for name, value in list(vars(module).items())
                          if callable(value) or isinstance(value, type(sys))]
        self.functions += [(namespace, name, value) for namespace in namespaces
                           for name, value in list(vars(namespace).items())
                           if isinstance(value, type)]
        self.functions += [(sys.modules[cls.__module__], cls.__qualname__, cls) for cls in classes
                           if "." not in cls.__qualname__ and cls.__module__ in sys.modules]
        self.functions += [(json, "dumps", json.dumps), (channel, "sign", channel.sign)]
        import hmac
        from json import encoder

        # Everything the signed lines are made with: the channel, JSON's encoder, HMAC.
        for owner in (channel, json, encoder, json.JSONEncoder, hmac, hmac.HMAC):
            self.functions += [(owner, name, value) for name, value in list(vars(owner).items())
                               if callable(value) or isinstance(value, (classmethod, staticmethod,
                                                                        property))]
        self.functions.append((os, "write", os.write))
        self.functions += [(_Guard, name, value) for name, value in vars(_Guard).items()
                           if callable(value)]
        watched = own + [f for _, _, value in self.functions for f in _functions_in(value)]
        watched += [f for value in self.methods.values() for f in _functions_in(value)]
        self.code = {id(f): (f, _fingerprint(f)) for f in watched}

    def problem(self, model=None):
        """Why the evidence cannot be believed any more, or None."""
        for name, value in self.probe.items():
            if globals().get(name) is not value:
                return f"the script replaced the grader probe's {name}"
        for owner, name, value in self.functions:
            if vars(owner).get(name) is not value:
                return f"the script replaced {getattr(owner, '__name__', '?')}.{name}"
        for (cls, name), value in self.methods.items():
            if cls.__dict__.get(name) is not value:
                return f"the script replaced Keras' {cls.__name__}.{name}"
        for function, fingerprint in self.code.values():
            if _changed(function, fingerprint):
                whose = ("the grader probe's" if fingerprint[0].co_filename == __file__
                         else f"{fingerprint[0].co_filename.rpartition('site-packages/')[2]}'s")
                return f"the script rewrote {whose} {fingerprint[0].co_name}"
        if set(vars(self)) != _Guard._FIELDS:
            return "the script changed the grader probe's guard"
        if model is not None:
            for obj in [model, *_all_layers(model)]:
                impostor = _impostor(type(obj), self.classes, self.loaded)
                if impostor:
                    return impostor
                own = vars(obj) if hasattr(obj, "__dict__") else {}
                for name in self._INSTANCE_METHODS:
                    if name in own:
                        return (f"the script replaced {name} on the {type(obj).__name__} "
                                f"'{getattr(obj, 'name', '')}' itself")
                units, kernel = getattr(obj, "units", None), getattr(obj, "_kernel", None)
                shape = getattr(kernel, "shape", None)
                if isinstance(units, int) and shape and int(shape[-1]) != units:
                    return (f"the {type(obj).__name__} '{getattr(obj, 'name', '')}' claims {units} "
                            f"units but its weights have {int(shape[-1])}")
        return None

    def check(self, model=None):
        """Report the problem, each time it is seen: the supervisor keeps the first, and a flag
        that silenced later reports would be one more thing for the script to set."""
        try:
            reason = _Guard.problem(self, model)  # not an attribute of the instance the script saw
        except Exception as exc:  # noqa: BLE001 - a broken object graph is a finding too
            reason = f"the probe could not inspect the model ({type(exc).__name__})"
        if reason:
            self.emit("tamper", reason=reason[:300])


def _cells(function) -> tuple:
    """What each of ``function``'s closure cells holds (``_cells`` itself for an empty one)."""
    held = []
    for cell in function.__closure__ or ():
        try:
            held.append(cell.cell_contents)
        except ValueError:
            held.append(_cells)
    return tuple(held)


def _impostor(cls, known: dict, loaded: frozenset) -> str | None:
    """Why ``cls`` passes itself off as a Keras class it is not, or None. A class whose module
    is Keras' must be one the guard found there before the script ran (``known``, by id), or
    live in a Keras module loaded since, under its own name there (a Keras class never renames
    itself: a class body's ``__module__ = "keras..."`` and ``__qualname__`` are the script's)."""
    module, name = getattr(cls, "__module__", ""), getattr(cls, "__qualname__", "")
    if type(module) is not str or type(name) is not str:  # noqa: E721 - subclasses could lie
        return "a class of the script has a module or name that is not text"
    if not str.startswith(module, ("keras", "tensorflow")) or known.get(id(cls)) is cls:
        return None
    if module not in loaded:
        found = sys.modules.get(module)
        for part in name.split("."):
            found = getattr(found, part, None)
        if found is cls and str.rpartition(name, ".")[2] == type.__dict__["__name__"].__get__(cls):
            return None
    return f"a class of the script calls itself Keras' {name[:60]} ({module[:80]})"


def _fingerprint(function) -> tuple:
    """What a function runs with, each part compared by identity (``_changed``): its code,
    defaults and closure, and what its closure's cells and keyword defaults hold."""
    kwdefaults = function.__kwdefaults__
    return (function.__code__, function.__defaults__, kwdefaults, function.__closure__,
            (*_cells(function), *(kwdefaults.values() if kwdefaults else ())))


def _changed(function, fingerprint: tuple) -> bool:
    code, defaults, kwdefaults, closure, held = fingerprint
    if (function.__code__ is not code or function.__defaults__ is not defaults
            or function.__kwdefaults__ is not kwdefaults or function.__closure__ is not closure):
        return True
    if not held:
        return False
    now = _fingerprint(function)[4]
    return len(now) != len(held) or any(a is not b for a, b in zip(now, held))


def _functions_in(value) -> list:
    """The plain functions behind a class attribute or module global (a property's accessors,
    a classmethod's function), so their code can be fingerprinted."""
    if isinstance(value, property):
        parts = [value.fget, value.fset, value.fdel]
    elif isinstance(value, (classmethod, staticmethod)):
        parts = [value.__func__]
    else:
        parts = [value]
    return [part for part in parts if inspect.isfunction(part)]


@contextlib.contextmanager
def _eagerly(model, eager: bool):
    """Run ``model``'s next call eagerly (fast mode): tracing a graph for one batch of training
    or one evaluation costs more than running it."""
    before = getattr(model, "_run_eagerly", False)
    if eager:
        model.run_eagerly = True
    try:
        yield
    finally:
        if eager:
            model.run_eagerly = before


def _in_one_batch(bound: dict, rows, full: bool) -> dict | None:
    """``evaluate``'s or ``predict``'s arguments (``self`` included) for one batch of all rows,
    in fast mode; None to call as the script did. Eagerly each batch costs ~40 ms of Keras
    overhead, and the result (a mean over all rows, or every row's output) does not depend
    on the batch size."""
    if (full or "self" not in bound or not isinstance(rows, int) or not 0 < rows <= 100_000
            or bound.get("steps") is not None or getattr(bound.get("x"), "shape", None) is None):
        return None
    return {**bound, "batch_size": rows}


def _recorded_fit(model, x=None, y=None, batch_size=None, epochs=1, verbose="auto",
                  callbacks=None, validation_split=0.0, validation_data=None, shuffle=True,
                  class_weight=None, sample_weight=None, initial_epoch=0, steps_per_epoch=None,
                  validation_steps=None, validation_batch_size=None, validation_freq=1):
    """Keras' ``fit`` loop with a test step in place of each train step, for fast mode on the
    NumPy backend (which cannot train): the same argument checks, data handling, callbacks,
    progress output and History, and no weight changes. The grader retrains the model itself."""
    from keras.src import callbacks as callbacks_module
    from keras.src.trainers.data_adapters import array_slicing, data_adapter_utils
    from keras.src.trainers.epoch_iterator import EpochIterator

    model._assert_compile_called("fit")
    if validation_split and validation_data is None:
        (x, y, sample_weight), validation_data = array_slicing.train_validation_split(
            (x, y, sample_weight), validation_split=validation_split)
    if validation_data is not None:
        val_x, val_y, val_weight = data_adapter_utils.unpack_x_y_sample_weight(validation_data)
    batches = EpochIterator(x=x, y=y, sample_weight=sample_weight, batch_size=batch_size,
                            steps_per_epoch=steps_per_epoch, shuffle=shuffle,
                            class_weight=class_weight,
                            steps_per_execution=model.steps_per_execution)
    if not all(layer.built for layer in model._flatten_layers()):
        for _, _, data in batches:
            model._symbolic_build(data[0])
            break
    if not isinstance(callbacks, callbacks_module.CallbackList):
        callbacks = callbacks_module.CallbackList(
            callbacks, add_history=True, add_progbar=verbose != 0, verbose=verbose,
            epochs=epochs, steps=batches.num_batches, model=model)
    model.make_test_function()
    model.stop_training = False
    logs = {}
    callbacks.on_train_begin()
    for epoch in range(initial_epoch, epochs):
        model.reset_metrics()
        callbacks.on_epoch_begin(epoch)
        step_logs = {}
        for begin, end, data in batches:
            callbacks.on_train_batch_begin(begin)
            step_logs = model.test_function(data)
            _RECORDED_STEPS[0] += 1
            callbacks.on_train_batch_end(end, step_logs)
            if model.stop_training:
                break
        logs = dict(model._get_metrics_result_or_logs(step_logs))
        if validation_data is not None and model._should_eval(epoch, validation_freq):
            held_out = model.evaluate(x=val_x, y=val_y, sample_weight=val_weight,
                                      batch_size=validation_batch_size or batch_size,
                                      steps=validation_steps, callbacks=callbacks,
                                      return_dict=True)
            logs.update({f"val_{name}": value for name, value in held_out.items()})
        callbacks.on_epoch_end(epoch, logs)
        if model.stop_training:
            break
    callbacks.on_train_end(logs=logs)
    return model.history


def _use_backend(name):
    """Run Keras on backend ``name``: chosen before the script imports Keras, or switched when
    a fork server imported it already (TensorFlow itself stays imported, so this is quick)."""
    os.environ["KERAS_BACKEND"] = name
    keras = sys.modules.get("keras")
    if keras is not None and keras.backend.backend() != name:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # nothing Keras made exists yet
            keras.config.set_backend(name)
    if name == "numpy":
        _mend_numpy_sum()


def _mend_numpy_sum():
    """Keras' NumPy ``sum`` reads ``x.dtype`` before converting ``x``, so a model with
    regularisers (whose loss sums a list) fails there; convert first, as the other backends do."""
    from keras.src.backend.numpy import core, numpy as backend_numpy

    original = backend_numpy.sum
    if getattr(original, "_grader_mended", False):
        return

    def mended_sum(x, axis=None, keepdims=False):
        return original(core.convert_to_tensor(x), axis=axis, keepdims=keepdims)

    mended_sum._grader_mended = True
    backend_numpy.sum = mended_sum


def _all_layers(model):
    """Every layer below ``model``, nested models opened up (Keras' own walk when it has one)."""
    try:
        return list(model._flatten_layers(include_self=False, recursive=True))
    except Exception:  # noqa: BLE001
        return list(getattr(model, "layers", []) or [])


def _instrument(full, emit):
    """Wrap the calls the checks need to see; the originals still do the work."""
    import keras
    import sklearn.datasets
    import sklearn.datasets._samples_generator as samples
    import sklearn.model_selection
    import sklearn.model_selection._split as split_module

    make_classification = sklearn.datasets.make_classification
    guard = []  # made once the wrappers are in place
    train_test_split = sklearn.model_selection.train_test_split

    def watched_make_classification(*args, **kwargs):
        guard[0].check()
        emit("data", kwargs=_scalar_kwargs(_bind(make_classification, args, kwargs)))
        result = make_classification(*args, **kwargs)
        _DATA_ROWS[0] = _rows(result[0]) if isinstance(result, tuple) and result else None
        return result

    def watched_train_test_split(*arrays, **options):
        result = train_test_split(*arrays, **options)
        shapes = [list(getattr(a, "shape", ()) or ()) for a in result]
        # The test split is the one cut from make_classification's data (a later split that carves
        # validation rows out of the training part is not), else the first split.
        from_data = bool(arrays) and _rows(arrays[0]) is not None and _rows(arrays[0]) == _DATA_ROWS[0]
        replace = _TEST_SPLIT["rows"] is None or (from_data and not _TEST_SPLIT["from_data"])
        if replace and len(result) >= 2 and len(result) % 2 == 0:
            tests = result[1::2]
            _TEST_SPLIT.update(rows=_rows(tests[0]), y=tests[-1] if len(tests) > 1 else None,
                               from_data=from_data)
        guard[0].check()
        emit("split", kwargs=_scalar_kwargs(options), n_arrays=len(arrays), shapes=shapes)
        return result

    for module in (sklearn.datasets, samples):
        module.make_classification = watched_make_classification
    for module in (sklearn.model_selection, split_module):
        module.train_test_split = watched_train_test_split

    model_class = keras.Model
    compile_, fit, evaluate, predict = (
        model_class.compile, model_class.fit, model_class.evaluate, model_class.predict)
    recorded_fit = _recorded_fit
    recorded = not full and keras.backend.backend() == "numpy"  # NumPy's Keras cannot train
    describe_model, describe_compile = _describe_model, _describe_compile
    callback_list = keras.callbacks.CallbackList

    class StepCounter(keras.callbacks.Callback):
        """Counts the training batches fit really ran, in a cell the script cannot name: the
        optimizer's ``iterations`` is a variable any callback can add to."""

        def __init__(self, counted):
            super().__init__()
            self.on_train_batch_end = lambda batch, logs=None: counted.__setitem__(
                0, counted[0] + 1)

    def counting(callbacks, counted):
        """``callbacks`` with a ``StepCounter`` first (so a callback that raises at a batch's
        end cannot hide the step), and how to take it out again; None: not countable."""
        counter = StepCounter(counted)
        if callbacks is None or isinstance(callbacks, (list, tuple)):
            return [counter, *(callbacks or ())], lambda: None
        inner = getattr(callbacks, "callbacks", None) if isinstance(callbacks, callback_list) \
            else None
        if type(inner) is list:  # noqa: E721 - the script's own list subclass could lie
            list.insert(inner, 0, counter)
            return callbacks, lambda: inner.remove(counter) if counter in inner else None
        return None

    def watched_compile(self, *args, **kwargs):
        result = compile_(self, *args, **kwargs)
        _LAST_MODEL[0] = self
        guard[0].check(self)
        emit("compile", model=describe_model(self), compile=describe_compile(self))
        return result

    def watched_fit(self, *args, **kwargs):
        bound = _bind(fit, (self,) + args, kwargs)
        bound.pop("self", None)
        _LAST_MODEL[0] = self
        record = _scalar_kwargs(bound)
        record["has_validation_data"] = bound.get("validation_data") is not None
        record["callbacks"] = [type(c).__name__ for c in _callbacks_in(bound.get("callbacks"))]
        record["callback_settings"] = _callback_settings(bound.get("callbacks"))
        record["x_rows"] = _rows(bound.get("x"))
        record["y_columns"] = _columns(bound.get("y"))
        requested = bound.get("epochs", 1)
        first = bound.get("initial_epoch", 0) or 0
        shorten = not full and isinstance(requested, int) and isinstance(first, int)
        if shorten:
            # One step instead of 50 epochs (on NumPy, a test step): the grader retrains the model.
            bound["epochs"] = min(requested, first + 1)
            bound["steps_per_epoch"] = 1
            if record["has_validation_data"] or (bound.get("validation_split") or 0) > 0:
                bound["validation_steps"] = 1
        history = None
        counted = [0]
        counter = None if recorded else counting(bound.get("callbacks"), counted)
        if counter is not None:
            bound["callbacks"] = counter[0]
        before = _RECORDED_STEPS[0] if recorded else _iterations(self)
        _IN_FIT[0] += 1
        try:
            with _eagerly(self, shorten):
                history = (recorded_fit if recorded else fit)(self, **bound)
        finally:
            _IN_FIT[0] -= 1
            if counter is not None:
                counter[1]()
            after = _RECORDED_STEPS[0] if recorded else _iterations(self)
            steps = after - before if before is not None and after is not None else None
            if counter is not None and counted[0] == 0:
                steps = 0  # no batch ended: whatever moved the optimizer's counter, no step ran
            if steps != 0:
                _TRAINED.pop(_uid(self), None)
                _TRAINED[_uid(self)] = self
            guard[0].check(self)
            emit("fit", model=describe_model(self), compile=describe_compile(self),
                  kwargs=record, shortened=shorten, completed=history is not None, steps=steps)
        if shorten and history is not None:
            _pad_history(history, first, requested)
        if history is not None:
            _HISTORIES.append(history)
        return history

    def watched_evaluate(self, *args, **kwargs):
        if _IN_FIT[0]:
            return evaluate(self, *args, **kwargs)
        bound = _bind(evaluate, (self,) + args, kwargs)
        rows = _rows(bound.get("x"))
        with _eagerly(self, not full):
            batched = _in_one_batch(bound, rows, full)
            result = evaluate(**batched) if batched else evaluate(self, *args, **kwargs)
        guard[0].check(self)
        emit("evaluate", uid=_uid(self), rows=rows, result=result,
              on_test_split=rows is not None and rows == _TEST_SPLIT["rows"],
              metrics=list(getattr(self, "metrics_names", []) or []))
        return result

    def watched_predict(self, *args, **kwargs):
        if _IN_FIT[0]:
            return predict(self, *args, **kwargs)
        bound = _bind(predict, (self,) + args, kwargs)
        rows = _rows(bound.get("x"))
        with _eagerly(self, not full):
            batched = _in_one_batch(bound, rows, full)
            result = predict(**batched) if batched else predict(self, *args, **kwargs)
        accuracy = None
        if rows is not None and rows == _TEST_SPLIT["rows"] and _TEST_SPLIT["y"] is not None:
            try:
                accuracy = _accuracy_from_predictions(result, _TEST_SPLIT["y"])
            except Exception:  # noqa: BLE001
                accuracy = None
        guard[0].check(self)
        emit("predict", uid=_uid(self), rows=rows, accuracy=accuracy)
        return result

    # compile goes where Keras defines it: loading a saved model compiles it only when
    # ``type(model).compile`` is that class's own (else Keras takes compile to be overridden)
    next(c for c in model_class.__mro__ if "compile" in vars(c)).compile = watched_compile
    model_class.fit = watched_fit
    model_class.evaluate = watched_evaluate
    model_class.predict = watched_predict
    watched = (watched_make_classification, watched_train_test_split, watched_compile,
               watched_fit, watched_evaluate, watched_predict)
    guard.append(_Guard(keras, emit, watched + (emit,)))
    keras.utils.set_random_seed(0)  # the same run each time, unless the script seeds itself
    codes = {f.__code__ for f in watched}
    return model_class, guard[0], codes


def _plotted(figure):
    """The History keys whose values some line of ``figure`` plots, in the order drawn."""
    import numpy as np

    series = []
    for history in _HISTORIES:
        values = getattr(history, "history", None)
        for key, value in (values.items() if isinstance(values, dict) else ()):
            try:
                series.append((str(key)[:60], np.asarray(value, dtype="float64").reshape(-1)))
            except Exception:  # noqa: BLE001
                continue
    found = []
    for axes in figure.axes:
        for line in axes.get_lines():
            try:
                ydata = np.asarray(line.get_ydata(), dtype="float64").reshape(-1)
            except Exception:  # noqa: BLE001
                continue
            for key, values in series:
                if ydata.size and ydata.shape == values.shape and key not in found and \
                        np.allclose(ydata, values, rtol=1e-6, atol=1e-9, equal_nan=True):
                    found.append(key)
    return found[:20]


def _render(figure, savefig):
    """``figure`` as PNG bytes of at most ``MAX_PNG_BYTES`` (about 100 dpi), or None."""
    import io

    width, height = figure.get_size_inches()
    dpi = min(100.0, MAX_PIXELS / max(float(width), float(height), 0.01))
    for scale in (1.0, 0.6, 0.36):
        buffer = io.BytesIO()
        savefig(figure, buffer, format="png", dpi=dpi * scale)
        if buffer.tell() <= MAX_PNG_BYTES:
            return buffer.getvalue()
    return None


def _capture_figure(figure, savefig):
    """Keep the figure as it looks now (a later capture of the same figure replaces it)."""
    import base64

    if (id(figure) not in _FIGURES and len(_FIGURES) >= MAX_FIGURES) or not figure.axes:
        return  # six kept already, or an empty figure (plt.savefig after plt.show, say)
    try:
        png = _render(figure, savefig)
        if png is None:
            return
        titles = [figure._suptitle.get_text()] if getattr(figure, "_suptitle", None) else []
        titles += [axes.get_title() for axes in figure.axes]
        labelled = [axes for axes in figure.axes if axes.get_xlabel() or axes.get_ylabel()]
        fields = {"title": "; ".join(t for t in titles if t)[:200],
                  "xlabel": labelled[0].get_xlabel()[:100] if labelled else "",
                  "ylabel": labelled[0].get_ylabel()[:100] if labelled else "",
                  "plotted": _plotted(figure), "png": base64.b64encode(png).decode("ascii")}
    except Exception:  # noqa: BLE001 - a figure that cannot be drawn is not kept
        return
    _FIGURES[id(figure)] = (figure, fields)


def _instrument_plots():
    """Capture every figure the script saves or shows. ``plt.show()`` shows and closes the open
    figures, as Jupyter's inline backend does (the sandbox draws with Agg: no window opens)."""
    import matplotlib.figure
    import matplotlib.pyplot as pyplot

    savefig = matplotlib.figure.Figure.savefig

    def watched_savefig(self, *args, **kwargs):
        result = savefig(self, *args, **kwargs)
        _capture_figure(self, savefig)
        return result

    def watched_show(*args, **kwargs):
        for number in pyplot.get_fignums():
            _capture_figure(pyplot.figure(number), savefig)
        pyplot.close("all")

    matplotlib.figure.Figure.savefig = watched_savefig
    pyplot.show = watched_show
    return savefig


def _emit_figures(emit, savefig):
    """The figures captured, and those still open at the end; one event each."""
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None:
        import matplotlib.figure

        savefig = savefig or matplotlib.figure.Figure.savefig
        for number in pyplot.get_fignums():
            _capture_figure(pyplot.figure(number), savefig)
    for key, (_, fields) in enumerate(list(_FIGURES.values())[:MAX_FIGURES]):
        emit("figure", key=key, **fields)


_NETWORK_ERRORS = ("URLError", "gaierror", "ConnectionError", "ConnectionRefusedError",
                   "ConnectionResetError", "TimeoutError", "timeout", "HTTPError", "SSLError")


def error_text(text: str, limit: int = 1000) -> str:
    """An error's text cut to ``limit`` characters, keeping its start and its end: TensorFlow
    puts the reason after the traceback of the graph node that failed ("Received a label value
    of 1 which is outside the valid range of [0, 1)"), past the first thousand characters."""
    if len(text) <= limit:
        return text
    head = limit * 3 // 10
    return f"{text[:head]} … {text[len(text) - (limit - head - 3):]}"


def _error_event(exc, emit):
    """Where the student's code failed: the deepest frame in the student's own file."""
    lineno, line = None, ""
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename == _SCRIPT:
            lineno, line = frame.lineno, (frame.line or "")
    if isinstance(exc, SyntaxError) and exc.filename == _SCRIPT:
        lineno, line = exc.lineno, (exc.text or "").strip()
    kind = "exception"
    if type(exc).__name__ in _NETWORK_ERRORS or getattr(exc, "errno", None) in (101, 111, 113, -2, -3):
        kind = "network"
    elif isinstance(exc, PermissionError):
        kind = "filesystem"
    elif isinstance(exc, MemoryError):
        kind = "memory"
    elif isinstance(exc, SyntaxError):
        kind = "syntax"
    emit("error", type=type(exc).__name__, message=error_text(str(exc)), lineno=lineno,
          line=line[:200], kind=kind)


def _final_model(namespace, model_class):
    """`model` at module level, else the last model compiled or trained, else any model."""
    candidate = namespace.get("model")
    if isinstance(candidate, model_class) and candidate.layers:
        return candidate
    if _LAST_MODEL[0] is not None:
        return _LAST_MODEL[0]
    models = [v for v in list(namespace.values()) if isinstance(v, model_class)]
    with_layers = [m for m in models if m.layers]
    return (with_layers or models or [None])[-1]


MAX_TRAINED_CHECKED = 20
MAX_NAMES = 50


def _model_names(namespace, model_class) -> list:
    """The module-level names the script's models have at the end: ``[{"uid", "name"}]``."""
    names = []
    for name, value in list(namespace.items()):
        try:
            if isinstance(value, model_class) and isinstance(name, str) and len(names) < MAX_NAMES:
                names.append({"uid": _uid(value), "name": name[:60]})
        except Exception:  # noqa: BLE001 - an object that hides its class has no name here
            continue
    return names


def _iterations(model) -> int | None:
    """How many training steps ``model``'s optimizer has applied (None: no optimizer yet)."""
    try:
        import numpy as np

        optimizer = model.optimizer
        return None if optimizer is None else int(np.asarray(optimizer.iterations))
    except Exception:  # noqa: BLE001 - an optimizer the script made may raise anything
        return None


def _run_student(spec, emit, allowed):
    """Run the script as ``__main__``; report what happened; return the exit code."""
    global _SCRIPT
    allowed.update({_run_student.__code__, _error_event.__code__})
    # Confined already, so that what Keras loads counts against the sandbox's memory limit; the
    # work directory is not on sys.path yet, so Keras is Keras. A failure is reported as the
    # script's would be (on NumPy, that means a rerun on TensorFlow).
    try:
        _use_backend(spec.get("backend") or "tensorflow")
    except Exception as exc:  # noqa: BLE001
        _error_event(exc, emit)
        return 1
    _SCRIPT = os.path.join(spec["workdir"], spec["script"])
    os.chdir(spec["workdir"])
    sys.argv = [_SCRIPT]
    sys.path[0:0] = [spec["workdir"]]
    try:
        with open(_SCRIPT, encoding="utf-8") as handle:
            text = handle.read()
        code = compile(text, _SCRIPT, "exec")
    except (SyntaxError, ValueError, UnicodeDecodeError) as exc:
        _error_event(exc, emit)
        return 1
    model_class, guard, codes = _instrument(spec["full"], emit)
    allowed.update(codes | {_Guard.check.__code__, _emit_figures.__code__})
    savefig = None
    if "matplotlib" in text or "plot" in text:  # else pyplot's import is not worth its time
        try:
            savefig = _instrument_plots()
        except Exception:  # noqa: BLE001 - no matplotlib: the script's import says so itself
            savefig = None
    module = type(sys)("__main__")
    module.__file__ = _SCRIPT
    module.__builtins__ = __builtins__
    sys.modules["__main__"] = module
    exit_code = 0
    emit("start")  # from here on, whatever happens is the script's doing
    try:
        exec(code, module.__dict__)  # noqa: S102 - this is the sandbox's purpose
    except SystemExit as exc:
        code_value = exc.code
        exit_code = code_value if isinstance(code_value, int) else (0 if code_value is None else 1)
        if exit_code:
            emit("error", type="SystemExit", message=f"sys.exit({code_value!r})", lineno=None,
                 line="", kind="exit")
    except BaseException as exc:  # noqa: BLE001 - every failure is reported as data
        _error_event(exc, emit)
        exit_code = 1
    try:
        _emit_figures(emit, savefig)
    except BaseException:  # noqa: BLE001 - figures are a courtesy; the end event is not
        pass
    try:
        final = _final_model(module.__dict__, model_class)
        for trained in list(_TRAINED.values())[-MAX_TRAINED_CHECKED:]:
            guard.check(trained)  # the graded model may be any of them
        guard.check(final)
        emit("end", exit_code=exit_code,
             model=_describe_model(final) if final is not None else None,
             compile=_describe_compile(final) if final is not None else None,
             names=_model_names(module.__dict__, model_class))
    except BaseException as exc:  # noqa: BLE001
        emit("end", exit_code=exit_code, model=None, compile=None,
             describe_error=f"{type(exc).__name__}: {exc}"[:300])
    return exit_code


def main(argv):
    spec = json.loads(argv[1])
    fd = spec["events_fd"]
    emit, allowed = _make_emitter(fd, channel.new_signer(_read_key(fd)))
    protections = _confine.confine(spec["workdir"], disk_mb=int(spec.get("disk_mb") or 0),
                                   cgroup_procs=tuple(spec.get("cgroup_procs") or ()))
    emit("sandbox", protections=protections)  # from PID 1 of the sandbox's PID namespace
    pid = _confine.fork_pid1()
    if pid == 0:
        code = 1
        try:
            code = _run_student(spec, emit, allowed)
        finally:
            for stream in (sys.stdout, sys.stderr):
                try:
                    stream.flush()
                except Exception:  # noqa: BLE001
                    pass
            os._exit(code if 0 <= code < 256 else 1)
    return _confine.supervise(pid)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
