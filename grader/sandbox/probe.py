"""The only grader code that runs beside student code, inside the sandbox.

Protocol (one direction only, child to parent): ``python -I -B -m grader.sandbox.probe SPEC_JSON`` where
SPEC_JSON is ``{"workdir", "script", "events_fd", "full"}``. The probe confines itself
(``_confine``), forks the process that runs the student's script as ``__main__`` in ``workdir``,
and writes one JSON object per line to ``events_fd`` as things happen, so a crash, a time-out or a
kill still leaves everything observed up to that moment:

- ``{"event": "sandbox", "protections": {...}}``       what the OS let us apply
- ``{"event": "data", "kwargs": {...}}``               each ``make_classification`` call
- ``{"event": "split", "kwargs": {...}, "shapes": [...]}``  each ``train_test_split`` call
- ``{"event": "compile", "model": {...}, "compile": {...}}``
- ``{"event": "fit", "model": {...}, "compile": {...}, "kwargs": {...}, "shortened": bool}``
- ``{"event": "evaluate", "uid", "rows", "on_test_split", "result"}``
- ``{"event": "predict", "uid", "rows", "accuracy"}``  accuracy when rows are the test split
- ``{"event": "error", "type", "message", "lineno", "line", "kind"}``
- ``{"event": "end", "exit_code", "model": {...} | null, "compile": {...} | null}``
- ``{"event": "exit", "status"}``                        written by the supervisor, last

Everything here is untrusted once student code has started: the parent validates it all.
"""

import inspect
import json
import os
import sys
import traceback

from grader.sandbox import confine as _confine

_EVENTS = None
_SCRIPT = ""
_TEST_SPLIT = {"rows": None, "y": None, "from_data": False}
_DATA_ROWS = [None]
_LAST_MODEL = [None]
_NEXT_UID = [0]
_IN_FIT = [0]  # Keras' fit validates through evaluate: those calls are not the student's


def _emit(event, **fields):
    """Write one event line; never raise into student code."""
    try:
        line = json.dumps({"event": event, **fields}, default=_jsonable)
        _EVENTS.write(line + "\n")
        _EVENTS.flush()
    except Exception:  # noqa: BLE001 - a broken channel must not change the student's run
        pass


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


def _rows(x):
    shape = getattr(x, "shape", None)
    try:
        return int(shape[0]) if shape else None
    except (TypeError, ValueError, IndexError):
        return None


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


def _instrument(full):
    """Wrap the calls the checks need to see; the originals still do the work."""
    import keras
    import sklearn.datasets
    import sklearn.datasets._samples_generator as samples
    import sklearn.model_selection
    import sklearn.model_selection._split as split_module

    make_classification = sklearn.datasets.make_classification
    train_test_split = sklearn.model_selection.train_test_split

    def watched_make_classification(*args, **kwargs):
        _emit("data", kwargs=_scalar_kwargs(_bind(make_classification, args, kwargs)))
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
        _emit("split", kwargs=_scalar_kwargs(options), n_arrays=len(arrays), shapes=shapes)
        return result

    for module in (sklearn.datasets, samples):
        module.make_classification = watched_make_classification
    for module in (sklearn.model_selection, split_module):
        module.train_test_split = watched_train_test_split

    model_class = keras.Model
    compile_, fit, evaluate, predict = (
        model_class.compile, model_class.fit, model_class.evaluate, model_class.predict)

    def watched_compile(self, *args, **kwargs):
        result = compile_(self, *args, **kwargs)
        _LAST_MODEL[0] = self
        _emit("compile", model=_describe_model(self), compile=_describe_compile(self))
        return result

    def watched_fit(self, *args, **kwargs):
        bound = _bind(fit, (self,) + args, kwargs)
        bound.pop("self", None)
        _LAST_MODEL[0] = self
        record = _scalar_kwargs(bound)
        record["has_validation_data"] = bound.get("validation_data") is not None
        record["callbacks"] = [type(c).__name__ for c in (bound.get("callbacks") or [])]
        record["x_rows"] = _rows(bound.get("x"))
        requested = bound.get("epochs", 1)
        first = bound.get("initial_epoch", 0) or 0
        shorten = not full and isinstance(requested, int) and isinstance(first, int)
        if shorten:
            # One eager step instead of 50 traced epochs: the grader retrains the model itself.
            bound["epochs"] = min(requested, first + 1)
            bound["steps_per_epoch"] = 1
            if record["has_validation_data"] or (bound.get("validation_split") or 0) > 0:
                bound["validation_steps"] = 1
        history = None
        eager = getattr(self, "_run_eagerly", False)
        _IN_FIT[0] += 1
        try:
            if shorten:
                self.run_eagerly = True
            history = fit(self, **bound)
        finally:
            _IN_FIT[0] -= 1
            if shorten:
                self.run_eagerly = eager
            _emit("fit", model=_describe_model(self), compile=_describe_compile(self),
                  kwargs=record, shortened=shorten, completed=history is not None)
        if shorten and history is not None:
            _pad_history(history, first, requested)
        return history

    def watched_evaluate(self, *args, **kwargs):
        if _IN_FIT[0]:
            return evaluate(self, *args, **kwargs)
        bound = _bind(evaluate, (self,) + args, kwargs)
        result = evaluate(self, *args, **kwargs)
        rows = _rows(bound.get("x"))
        _emit("evaluate", uid=_uid(self), rows=rows, result=result,
              on_test_split=rows is not None and rows == _TEST_SPLIT["rows"],
              metrics=list(getattr(self, "metrics_names", []) or []))
        return result

    def watched_predict(self, *args, **kwargs):
        if _IN_FIT[0]:
            return predict(self, *args, **kwargs)
        bound = _bind(predict, (self,) + args, kwargs)
        result = predict(self, *args, **kwargs)
        rows = _rows(bound.get("x"))
        accuracy = None
        if rows is not None and rows == _TEST_SPLIT["rows"] and _TEST_SPLIT["y"] is not None:
            try:
                accuracy = _accuracy_from_predictions(result, _TEST_SPLIT["y"])
            except Exception:  # noqa: BLE001
                accuracy = None
        _emit("predict", uid=_uid(self), rows=rows, accuracy=accuracy)
        return result

    model_class.compile = watched_compile
    model_class.fit = watched_fit
    model_class.evaluate = watched_evaluate
    model_class.predict = watched_predict
    return model_class


_NETWORK_ERRORS = ("URLError", "gaierror", "ConnectionError", "ConnectionRefusedError",
                   "ConnectionResetError", "TimeoutError", "timeout", "HTTPError", "SSLError")


def _error_event(exc):
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
    _emit("error", type=type(exc).__name__, message=str(exc)[:1000], lineno=lineno,
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


def _run_student(spec):
    """Run the script as ``__main__``; report what happened; return the exit code."""
    global _SCRIPT
    _SCRIPT = os.path.join(spec["workdir"], spec["script"])
    os.chdir(spec["workdir"])
    sys.argv = [_SCRIPT]
    sys.path[0:0] = [spec["workdir"]]
    try:
        with open(_SCRIPT, encoding="utf-8") as handle:
            code = compile(handle.read(), _SCRIPT, "exec")
    except (SyntaxError, ValueError, UnicodeDecodeError) as exc:
        _error_event(exc)
        return 1
    model_class = _instrument(spec["full"])
    module = type(sys)("__main__")
    module.__file__ = _SCRIPT
    module.__builtins__ = __builtins__
    sys.modules["__main__"] = module
    exit_code = 0
    try:
        exec(code, module.__dict__)  # noqa: S102 - this is the sandbox's purpose
    except SystemExit as exc:
        code_value = exc.code
        exit_code = code_value if isinstance(code_value, int) else (0 if code_value is None else 1)
        if exit_code:
            _emit("error", type="SystemExit", message=f"sys.exit({code_value!r})", lineno=None,
                  line="", kind="exit")
    except BaseException as exc:  # noqa: BLE001 - every failure is reported as data
        _error_event(exc)
        exit_code = 1
    try:
        final = _final_model(module.__dict__, model_class)
        _emit("end", exit_code=exit_code,
              model=_describe_model(final) if final is not None else None,
              compile=_describe_compile(final) if final is not None else None)
    except BaseException as exc:  # noqa: BLE001
        _emit("end", exit_code=exit_code, model=None, compile=None,
              describe_error=f"{type(exc).__name__}: {exc}"[:300])
    return exit_code


def main(argv):
    global _EVENTS
    spec = json.loads(argv[1])
    _EVENTS = os.fdopen(spec["events_fd"], "w", encoding="utf-8")
    _emit("sandbox", protections=_confine.confine(spec["workdir"]))
    pid = _confine.fork_pid1()
    if pid == 0:
        code = 1
        try:
            code = _run_student(spec)
        finally:
            for stream in (sys.stdout, sys.stderr):
                try:
                    stream.flush()
                except Exception:  # noqa: BLE001
                    pass
            os._exit(code if 0 <= code < 256 else 1)
    status = _confine.supervise(pid)
    _emit("exit", status=status)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv))
