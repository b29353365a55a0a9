"""A class compared: the similarity report's frozen data, and a report's architecture as choices.

``grader.similarity`` makes a ``Result`` from a batch's results; the reporters
(``grader.reporters.similarity_html``, ``similarity_text``, and the student's HTML report, which
draws the architecture from ``describe``) format it. ``Result.to_dict`` is the batch summary's
``similarity`` entry, with its ``schema``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Mapping

SCHEMA = 1  # of ``Result.to_dict``


@dataclass(frozen=True)
class Student:
    """One submission as the similarity report sees it."""

    id: str
    code: str  # Python source: a notebook's code cells without magics or outputs
    architecture: dict | None = None  # the report's "architecture" entry
    submission: str = ""  # the file as the report names it
    accuracy: float | None = None  # the grader's own test accuracy


@dataclass(frozen=True)
class Shared:
    """A choice two students share that few others made."""

    key: str
    label: str
    students: int  # how many in the class made it
    bits: float


@dataclass(frozen=True)
class Pair:
    a: str
    b: str
    code_score: float
    architecture_score: float
    score: float
    shared: tuple[Shared, ...] = ()  # rarest first
    spans_a: tuple[tuple[int, int], ...] = ()  # matching code in a's source (top pairs only)
    spans_b: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class Result:
    """Every pair at or above the floor, best first; clusters of the flagged ones; notes."""

    students: tuple[str, ...]
    pairs: tuple[Pair, ...]
    clusters: tuple[tuple[str, ...], ...]
    settings: Mapping
    notes: tuple[str, ...] = ()

    def flagged(self) -> tuple[Pair, ...]:
        return tuple(p for p in self.pairs if p.score >= float(self.settings["threshold"]))

    def to_dict(self, top: int = 10) -> dict:
        """The summary's ``similarity`` entry: counts, the top flagged pairs, the clusters."""
        flagged = self.flagged()
        return {
            "schema": SCHEMA, "students": len(self.students),
            "floor": float(self.settings["floor"]),
            "threshold": float(self.settings["threshold"]),
            "pairs_above_floor": len(self.pairs), "flagged_pairs": len(flagged),
            "top_pairs": [{"a": p.a, "b": p.b, "code_score": round(p.code_score, 4),
                           "architecture_score": round(p.architecture_score, 4),
                           "score": round(p.score, 4),
                           "shared": [s.label for s in p.shared[:5]]} for p in flagged[:top]],
            "clusters": [list(c) for c in self.clusters],
            "notes": list(self.notes),
        }


# --- architecture choices ---------------------------------------------------------------------


@dataclass(frozen=True)
class Choice:
    key: str  # what two students must both have to share it
    text: str  # short, for drawing ("L2 0.001")
    label: str  # for lists of shared choices ("L2 factor 0.001")
    group: str = ""  # for settings: "optimizer", "loss", "make_classification", ...


@dataclass(frozen=True)
class LayerView:
    kind: str
    units: int | None
    choices: tuple[Choice, ...]


@dataclass(frozen=True)
class ArchitectureView:
    """A summarised architecture as choices: per layer, then the settings."""

    layers: tuple[LayerView, ...]
    settings: tuple[Choice, ...]

    def choices(self) -> dict[str, str]:
        """Each distinct choice once: ``{key: label}`` (an L2 factor on every layer is one)."""
        found: dict[str, str] = {}
        for choice in [c for layer in self.layers for c in layer.choices] + list(self.settings):
            found.setdefault(choice.key, choice.label)
        return found


def _value(value) -> str:
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, (int, float)):
        return f"{value:.4g}"
    return str(value)[:60]


def _snake(name: str) -> str:
    """Keras' ``to_snake_case``, which names the layers nobody named (Dense -> dense_3)."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def _layer_view(layer: dict) -> LayerView:
    kind = str(layer.get("kind") or "?")[:40]
    found = []
    units = layer.get("units") if isinstance(layer.get("units"), int) else None
    if units is not None:
        found.append(Choice(f"units={units}", str(units), f"a {kind}({units}) layer"))
    if layer.get("activation") not in (None, "linear", ""):
        name = _value(layer["activation"])
        found.append(Choice(f"activation={name}", name, f"activation {name}"))
    for factor, short in (("kernel_l2", "L2"), ("kernel_l1", "L1"), ("bias_l2", "bias L2")):
        value = layer.get(factor)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value:
            found.append(Choice(f"{factor}={_value(value)}", f"{short} {_value(value)}",
                                f"{short} factor {_value(value)}"))
    rate = layer.get("rate")
    if isinstance(rate, (int, float)) and not isinstance(rate, bool):
        found.append(Choice(f"rate={_value(rate)}", f"rate {_value(rate)}",
                            f"{kind} rate {_value(rate)}"))
    name = str(layer.get("name") or "")[:60]
    if name and re.sub(r"_\d+$", "", name) != _snake(kind):
        found.append(Choice(f"name={name}", repr(name), f"a layer named {name!r}"))
    if kind not in ("Dense", "Dropout"):
        found.append(Choice(f"kind={kind}", "", f"a {kind} layer"))
    return LayerView(kind, units, tuple(found))


_CALLS = (("data", "make_classification"), ("split", "train_test_split"), ("fit", "fit"))


def describe(architecture: dict | None) -> ArchitectureView:
    """A report's ``architecture`` entry as choices.

    Per layer: its width, activation, L2/L1 factors, dropout rate, a name Keras did not make up,
    a kind other than Dense and Dropout. Then the optimizer and each of its settings, the loss,
    and every argument given to ``make_classification``, ``train_test_split`` and ``fit``. The
    sequence as a whole is not a choice: many honest students land on the same one.
    """
    if not isinstance(architecture, dict):
        return ArchitectureView((), ())
    layers = architecture.get("layers") if isinstance(architecture.get("layers"), list) else []
    views = tuple(_layer_view(layer) for layer in layers if isinstance(layer, dict))
    settings = []
    optimizer = architecture.get("optimizer")
    if isinstance(optimizer, dict):
        name = _value(optimizer.get("class_name") or "?")
        settings.append(Choice(f"optimizer={name}", name, f"optimizer {name}", "optimizer"))
        config = optimizer.get("config") if isinstance(optimizer.get("config"), dict) else {}
        for key, value in sorted(config.items()):
            if isinstance(value, dict):  # a learning-rate schedule
                value = value.get("class_name") or json.dumps(value, sort_keys=True)[:60]
            if value is None or isinstance(value, list):  # None: not set, no choice
                continue
            settings.append(Choice(f"optimizer.{key}={_value(value)}", f"{key}={_value(value)}",
                                   f"{name}({key}={_value(value)})", "optimizer"))
    if architecture.get("loss"):
        loss = _value(architecture["loss"])
        settings.append(Choice(f"loss={loss}", loss, f"loss {loss}", "loss"))
    loss_config = architecture.get("loss_config")
    if isinstance(loss_config, dict) and loss_config.get("class_name"):
        name = _value(loss_config["class_name"])
        settings.append(Choice(f"loss_class={name}", f"as {name}()", f"the loss as {name}()",
                               "loss"))
    for call, function in _CALLS:
        arguments = architecture.get(call) if isinstance(architecture.get(call), dict) else {}
        for key, value in sorted(arguments.items()):
            if key == "callbacks" and isinstance(value, list):
                settings += [Choice(f"fit.callback={_value(c)}", _value(c),
                                    f"a {_value(c)} callback", function) for c in value]
            elif not isinstance(value, (dict, list)):
                settings.append(Choice(f"{call}.{key}={_value(value)}", f"{key}={_value(value)}",
                                       f"{function}({key}={_value(value)})", function))
    return ArchitectureView(views, tuple(settings))
