"""What the trusted retrain is asked to train: one typed, frozen request, versioned on the wire.

``grader.pipeline.training_request`` makes it from what the sandbox observed; the grading process
sends ``to_json()`` to the retrain worker (``grader.retrain.worker``), which reads it back with
``from_json``: that process never trusts its input's shape, so every field is checked there
(and on construction) and anything else is a ``RequestError``. The cache key hashes ``to_json()``.
What the config may contain (layer classes, initialisers, sizes) is ``grader.retrain.allowlist``'s
to judge, not this module's.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass
from typing import Any

SCHEMA_VERSION = 1


class RequestError(ValueError):
    """Not a retrain request this grader reads: another schema version, an unknown or missing
    field, or a field of the wrong type."""


@dataclass(frozen=True)
class RetrainRequest:
    """The model's Keras config and compile settings, with the grader's data and training
    settings."""

    model_config: dict  # the submission's model, inputs resized to ``n_features``
    loss: Any  # as the script compiled it (a name, a serialized loss; Keras judges the rest)
    optimizer: Any  # likewise
    n_features: int
    epochs: int
    batch_size: int
    seed: int  # the starting weights' and the shuffles' seed
    loss_name: str = ""  # the loss's canonical name ("binary_crossentropy"), "" when unknown
    from_logits: bool = False
    output_activation: str | None = None  # what the last Dense layer outputs through
    data: dict | None = None  # make_classification's settings (None: the worker's own)
    max_parameters: int = 0  # the most weights the worker builds (0: no limit)
    one_hot_labels: bool = False  # the script trained on one-hot labels: so does the retrain

    def __post_init__(self) -> None:
        for name, kinds in _KINDS.items():
            value = getattr(self, name)
            if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
                raise RequestError(f"retrain request: {name} must be "
                                   f"{' or '.join(_NAMES[k] for k in kinds)}, "
                                   f"not {type(value).__name__}")
        for name, least in _LEAST.items():
            if getattr(self, name) < least:
                raise RequestError(f"retrain request: {name} must be at least {least}, "
                                   f"not {getattr(self, name)}")

    def to_json(self) -> dict:
        """JSON-ready data with ``schema_version`` (a copy: changing it changes no request)."""
        return {"schema_version": SCHEMA_VERSION,
                **{f.name: copy.deepcopy(getattr(self, f.name)) for f in dataclasses.fields(self)}}

    @classmethod
    def from_json(cls, data: Any) -> RetrainRequest:
        """The request ``to_json`` wrote, checked field by field (``RequestError`` otherwise).

        A request without ``schema_version`` is read as version 1, the form written before the
        field existed (the same fields).
        """
        if not isinstance(data, dict):
            raise RequestError(f"a retrain request is a JSON object, not {type(data).__name__}")
        version = data.get("schema_version", 1)
        if type(version) is not int or version != SCHEMA_VERSION:
            raise RequestError(f"retrain request schema_version {version!r}: this grader reads "
                               f"version {SCHEMA_VERSION}")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(str(k) for k in data if k not in names and k != "schema_version")
        if unknown:
            raise RequestError(f"retrain request: unknown field {', '.join(unknown)[:200]}")
        missing = [f.name for f in dataclasses.fields(cls) if f.name not in data
                   and f.default is dataclasses.MISSING]
        if missing:
            raise RequestError(f"retrain request: missing field {', '.join(missing)}")
        return cls(**{k: copy.deepcopy(v) for k, v in data.items() if k in names})


_JSON = (dict, list, str, int, float, bool, type(None))  # what a JSON value is at its top
_KINDS = {"model_config": (dict,), "loss": _JSON, "optimizer": _JSON,
          "n_features": (int,), "epochs": (int,), "batch_size": (int,), "seed": (int,),
          "loss_name": (str,), "from_logits": (bool,), "output_activation": (str, type(None)),
          "data": (dict, type(None)), "max_parameters": (int,), "one_hot_labels": (bool,)}
_NAMES = {dict: "an object", list: "a list", str: "a string", int: "a whole number",
          float: "a number", bool: "true or false", type(None): "null"}
_LEAST = {"n_features": 1, "epochs": 1, "batch_size": 1, "max_parameters": 0}
