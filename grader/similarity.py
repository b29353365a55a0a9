"""Similar submissions across a class, on code and on architecture: evidence for a person to read.

``python -m grader similarity RESULTS_DIR`` (and the end of every batch) reads what a batch saved,
``reports/<id>.json`` (with each model's ``architecture``) and ``sources/<id>.py|.ipynb``; it
never runs a submission. Each pair of students gets two scores in [0, 1] and their combination:

    code          copydetect's tokenizer (names become V, strings S; comments and layout go) and
                  its winnowing, on k-grams that never cross the end of a statement (so reordered
                  statements match). Fingerprints of the boilerplate (the starter template, the
                  sheet) are dropped; the others weigh log((N + 1) / n) when n of the class's N
                  submissions have them, and nothing when more than ``code_common_fraction`` of
                  the class has them. The score is the mean of "the share of a's weight found in
                  b" and "the share of b's weight found in a", times min(1, shared weight /
                  (``rare_fingerprints`` * log((N + 1) / 2))): full once they share as much as
                  that many fingerprints nobody else has.
    architecture  each choice (a width, an activation, an L2 factor, a dropout rate, a layer
                  name, an optimizer setting, the data seed...) weighs log2((N + 1) / n) bits
                  when n of N students made it, and nothing when more than
                  ``architecture_common_fraction`` did. The score is the share of the pair's bits
                  that both have, times min(1, shared bits / enough), where enough is
                  ``rare_choices`` * log2((N + 1) / 2): as much as that many choices nobody else
                  made.
    score         1 - (1 - code) * (1 - architecture): either signal alone can raise it.

The class itself is the reference distribution: the common 256 -> 128 -> 64 with the sheet's L2
and Dropout weighs nothing, an odd width or seed shared by two students weighs a lot. Settings
come from the rubric's ``[similarity]`` table.
"""

from __future__ import annotations

import ast
import csv
import dataclasses
import io
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np

from grader.text import csv_cell

SCHEMA = 1
MAX_CODE_CHARS = 100_000  # fingerprinted and shown per submission; the rest is cut
MAX_FILE_BYTES = 20 * 2**20  # a notebook may carry large outputs; they are not read
MIN_STATEMENT = 3  # a shorter normalised statement (`V=`) is not a fingerprint
SMALL_CLASS = 20  # below this, the report says rarity means little
SOURCE_SUFFIXES = (".py", ".ipynb")
_PYTHON_CELL_MAGICS = ("time", "timeit", "capture", "prun")
_HASH_BITS = 52  # k-gram hashes stay exact as floats (copydetect's winnowing compares floats)
_FENCE = re.compile(r"^```\s*(python3?|py|ipython3?)\s*$", re.IGNORECASE)


class SimilarityError(ValueError):
    """RESULTS_DIR cannot be read as the output of a batch."""


# --- what is compared -------------------------------------------------------------------------


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


# --- reading code -----------------------------------------------------------------------------


def notebook_code(text: str) -> str:
    """A notebook's code cells as one script: outputs ignored, ``!`` and ``%`` lines dropped, a
    cell magic's cell dropped (only its first line for ``%%time`` and other Python bodies), each
    cell headed by a ``# [cell N]`` comment (cells counted from 1, markdown ones too).

    Read as JSON (nbformat 4 ``cells``, or nbformat 3 ``worksheets``), not with nbformat: its
    import alone (jsonschema's format checkers) takes seconds, longer than comparing a class.
    """
    notebook = json.loads(text)
    cells = notebook.get("cells")
    if cells is None:
        cells = [c for sheet in notebook.get("worksheets") or [] for c in sheet.get("cells") or []]
    found = []
    for number, cell in enumerate(cells if isinstance(cells, list) else [], 1):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source", cell.get("input", ""))
        text = "".join(map(str, source)) if isinstance(source, list) else str(source)
        lines = text.splitlines()
        first = next((i for i, line in enumerate(lines) if line.strip()), None)
        if first is not None and lines[first].lstrip().startswith("%%"):
            if lines[first].strip()[2:].split(" ")[0] not in _PYTHON_CELL_MAGICS:
                continue
            lines = lines[first + 1:]
        kept = [line for line in lines if not line.lstrip().startswith(("%", "!"))]
        if any(line.strip() for line in kept):  # a comment names the cell (comments never count)
            found.append(f"# [cell {number}]\n" + "\n".join(kept).strip("\n"))
    return "\n\n".join(found) + "\n"


def markdown_code(text: str) -> str:
    """The Python fenced code blocks of a Markdown file (an exercise sheet), one after another."""
    blocks, current = [], None
    for line in text.splitlines():
        if current is None:
            if _FENCE.match(line.strip()):
                current = []
        elif line.strip().startswith("```"):
            blocks.append("\n".join(current))
            current = None
        else:
            current.append(line)
    return "\n\n".join(blocks) + "\n"


def read_code(path: Path) -> str:
    """A ``.py``, an ``.ipynb`` or an ``.md`` (its Python blocks) as Python source, capped.

    Raises ValueError for a notebook nbformat cannot read, OSError for an unreadable file.
    """
    path = Path(path)
    with open(path, "rb") as handle:
        text = handle.read(MAX_FILE_BYTES).decode("utf-8-sig", errors="replace")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    suffix = path.suffix.lower()
    if suffix == ".ipynb":
        try:
            text = notebook_code(text)
        except (ValueError, AttributeError, TypeError) as exc:
            raise ValueError(f"{path.name} is not a readable notebook ({type(exc).__name__})") \
                from None
    elif suffix in (".md", ".markdown"):
        text = markdown_code(text)
    return text[:MAX_CODE_CHARS]


# --- code fingerprints ------------------------------------------------------------------------


@dataclass(frozen=True)
class Fingerprint:
    """A submission's fingerprints: hashes of its normalised code, never across the end of a
    statement (so reordering independent statements changes nothing)."""

    raw_code: str
    filtered_code: str
    raw_of: np.ndarray  # raw position of each filtered character
    grams: np.ndarray  # the hash of each fingerprint, int64
    starts: np.ndarray  # where each fingerprint starts in the filtered code
    lengths: np.ndarray  # and how long it is (k, or a shorter statement's length)

    @property
    def hashes(self) -> np.ndarray:
        """Unique hashes, sorted."""
        return np.unique(self.grams)


def _hash(codes: np.ndarray, k: int) -> np.ndarray:
    """A hash of every k-gram of the code points ``codes``, the same in every process (Python's
    ``hash(str)``, which copydetect uses, changes with each interpreter)."""
    n = len(codes) - k + 1
    if n <= 0:
        return np.zeros(0, dtype=np.int64)
    value = np.full(n, k, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for offset in range(k):
            value = value * np.uint64(1_000_003) + codes[offset:offset + n]
        value ^= value >> np.uint64(29)
        value *= np.uint64(0xBF58476D1CE4E5B9)
        value ^= value >> np.uint64(32)
    return (value & np.uint64((1 << _HASH_BITS) - 1)).astype(np.int64)


def _code_points(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)


def _statement_ends(code: str) -> np.ndarray:
    """Raw positions where statements end (a compound statement's header ends before its body;
    physical lines when the code does not parse), sorted."""
    lines = code.split("\n")
    starts = np.cumsum([0] + [len(line) + 1 for line in lines])

    def position(row: int, byte: int) -> int:  # ast columns count UTF-8 bytes
        line = lines[row - 1]
        return int(starts[row - 1]) + len(line.encode("utf-8")[:byte].decode("utf-8", "ignore"))

    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return np.array([i for i, c in enumerate(code) if c == "\n"] + [len(code)], dtype=np.int64)
    ends = {len(code)}
    for node in ast.walk(tree):
        if not isinstance(node, ast.stmt):
            continue
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.stmt):
            ends.add(position(body[0].lineno, body[0].col_offset) - 1)  # the header
        else:
            ends.add(position(node.end_lineno, node.end_col_offset))
    return np.array(sorted(ends), dtype=np.int64)


def normalize(code: str) -> tuple[str, np.ndarray]:
    """copydetect's filter (names become V, function names F, strings S; comments and layout
    go), and the raw position of each character it keeps."""
    from copydetect.utils import filter_code

    filtered, offsets = filter_code(code, "submission.py", language="python")
    positions = np.arange(len(filtered), dtype=np.int64)
    if len(offsets):  # as copydetect.compare_files maps its slices back to the raw code
        rows = np.clip(np.searchsorted(offsets[:, 0], positions), 0, len(offsets) - 1)
        positions = positions + offsets[rows, 1].astype(np.int64)
    return filtered, np.minimum(positions, max(len(code) - 1, 0))


def fingerprint(code: str, k: int, window: int = 1,
                boilerplate: np.ndarray | None = None) -> Fingerprint:
    """Fingerprints of ``code``: in each statement every k-gram (winnowed by copydetect when
    ``window`` > 1), or the whole statement when it is shorter; the boilerplate's dropped."""
    from copydetect.utils import winnow

    filtered, raw_of = normalize(code)
    statement = np.searchsorted(_statement_ends(code), raw_of, side="right")
    codes = _code_points(filtered)
    every = _hash(codes, k)  # all k-grams at once; keep those inside one statement
    inside = np.flatnonzero(statement[:len(every)] == statement[k - 1:])
    cuts = (np.flatnonzero(np.diff(statement)) + 1).tolist()
    short = [(a, b - a) for a, b in zip([0] + cuts, cuts + [len(filtered)])
             if MIN_STATEMENT <= b - a < k]
    grams = [every[inside]]
    starts = [inside]
    if window > 1 and len(inside):
        grams, starts = [], []
        for part in np.split(inside, np.flatnonzero(np.diff(statement[inside])) + 1):
            hashes, idx = winnow(every[part], window_size=window, remove_duplicates=False)
            grams.append(hashes)
            starts.append(part[idx])
    grams.append(np.array([_hash(codes[a:a + n], n)[0] for a, n in short], dtype=np.int64))
    starts.append(np.array([a for a, _ in short], dtype=np.int64))
    grams, starts = np.concatenate(grams), np.concatenate(starts).astype(np.int64)
    lengths = np.concatenate([np.full(len(starts) - len(short), k), [n for _, n in short]])
    if boilerplate is not None and len(boilerplate):
        keep = ~np.isin(grams, boilerplate)
        grams, starts, lengths = grams[keep], starts[keep], lengths[keep]
    return Fingerprint(code, filtered, raw_of, grams, starts, lengths.astype(np.int64))


def boilerplate_hashes(codes: Iterable[str], k: int) -> np.ndarray:
    """Every fingerprint of the boilerplate (all k-grams, not a winnowed few, as copydetect)."""
    found = [fingerprint(code, k).hashes for code in codes]
    return np.unique(np.concatenate(found)) if found else np.zeros(0, dtype=np.int64)


def matching_spans(side: Fingerprint, hashes) -> tuple[tuple[int, int], ...]:
    """Where ``hashes`` sit in the raw source, as merged (start, end) character spans, widened
    to whole words (a V in the normalised code stands for a whole name)."""
    code = side.raw_code
    found = np.isin(side.grams, np.asarray(list(hashes), dtype=np.int64))
    spans = []
    for at, length in zip(side.starts[found].tolist(), side.lengths[found].tolist()):
        start, end = int(side.raw_of[at]), int(side.raw_of[at + length - 1]) + 1
        while start > 0 and _word(code[start - 1]) and _word(code[start]):
            start -= 1
        while end < len(code) and _word(code[end - 1]) and _word(code[end]):
            end += 1
        spans.append((start, end))
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return tuple((a, b) for a, b in merged)


def _word(char: str) -> bool:
    return char.isalnum() or char == "_"


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


# --- scoring ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Weighted:
    """Items (hashes or choices) per student, each weighted by its rarity in the class."""

    items: tuple[np.ndarray, ...]  # per student: sorted unique item ids
    weight: np.ndarray  # per item id
    count: np.ndarray  # per item id: how many students have it

    def totals(self) -> np.ndarray:
        return np.array([self.weight[ids].sum() for ids in self.items])

    def shared(self) -> np.ndarray:
        """The weight each pair of students shares, as a dense N x N matrix."""
        from scipy import sparse

        n = len(self.items)
        rows = np.repeat(np.arange(n), [len(ids) for ids in self.items])
        cols = np.concatenate(self.items) if n else np.zeros(0, dtype=np.int64)
        useful = (self.count[cols] >= 2) & (self.weight[cols] > 0)
        matrix = sparse.csr_matrix((np.ones(int(useful.sum())), (rows[useful], cols[useful])),
                                   shape=(n, len(self.weight)))
        return (matrix @ sparse.diags(self.weight) @ matrix.T).toarray()


def _weighted(items: tuple[np.ndarray, ...], distinct: int, common_fraction: float,
              log) -> _Weighted:
    """Weights log((N + 1) / n) (the + 1 keeps a class of two comparable), and 0 for the items
    more than ``common_fraction`` of N students have (at least two may always share one).

    ``items``: per student, the sorted unique ids (0 .. ``distinct`` - 1) of what it has.
    """
    n = len(items)
    count = np.bincount(np.concatenate(items) if n else np.zeros(0, dtype=np.int64),
                        minlength=distinct)
    weight = log((n + 1) / np.maximum(count, 1))
    weight[count > max(2.0, common_fraction * n)] = 0.0
    return _Weighted(items, weight, count)


def code_scores(prints: list[Fingerprint], common_fraction: float,
                rare_fingerprints: float) -> tuple[np.ndarray, np.ndarray]:
    """Pairwise code scores, and the hashes that weigh something.

    The mean of each side's weight found in the other, scaled down until the pair shares as
    much weight as ``rare_fingerprints`` fingerprints nobody else has: two short submissions
    that happen to share their only uncommon line are not a copy.
    """
    per_student = [p.hashes for p in prints]
    every, index = np.unique(np.concatenate(per_student) if prints else np.zeros(0, np.int64),
                             return_inverse=True)
    items = tuple(np.split(index.astype(np.int64), np.cumsum([len(h) for h in per_student])[:-1])
                  if prints else ())
    weighted = _weighted(items, len(every), common_fraction, np.log)
    totals = weighted.totals()
    shared = weighted.shared()
    with np.errstate(divide="ignore", invalid="ignore"):
        found = np.where(totals[:, None] > 0, shared / totals[:, None], 0.0)
    enough = rare_fingerprints * math.log((len(prints) + 1) / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        scores = (found + found.T) / 2 * np.minimum(1.0, shared / enough)
    return np.clip(scores, 0.0, 1.0), every[weighted.weight > 0]


def architecture_scores(per_student: list[dict[str, str]], common_fraction: float,
                        rare_choices: float) -> tuple[np.ndarray, _Weighted, dict]:
    """Pairwise architecture scores: shared bits over the pair's bits, scaled down until they
    share as much as ``rare_choices`` choices nobody else made."""
    ids: dict[str, int] = {}
    items = tuple(np.array(sorted(ids.setdefault(key, len(ids)) for key in choices),
                           dtype=np.int64) for choices in per_student)
    weighted = _weighted(items, len(ids), common_fraction, np.log2)
    n = len(per_student)
    totals = weighted.totals()
    shared = weighted.shared()
    union = np.add.outer(totals, totals) - shared
    enough = rare_choices * math.log2((n + 1) / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        scores = np.where(union > 0, shared / union, 0.0) * np.minimum(1.0, shared / enough)
    return np.clip(scores, 0.0, 1.0), weighted, ids


def compare(students: list[Student], settings: Mapping, boilerplate: Iterable[str] = (),
            notes: Iterable[str] = ()) -> Result:
    """Score every pair of ``students``: the pairs at or above the floor, best first.

    Args:
        students: the class (at least two to compare anything).
        settings: the rubric's ``[similarity]`` table.
        boilerplate: code that does not count (the starter template, the sheet's code).
        notes: what the report should say about its inputs (missing sources...).
    """
    students = sorted(students, key=lambda s: s.id)
    notes = list(notes)
    if 2 <= len(students) < SMALL_CLASS:
        notes.append(f"only {len(students)} submissions: in a class this small, common choices "
                     "can look rare (the class is the reference for what is common)")
    k = int(settings["noise_tokens"])
    window = int(settings["guarantee_tokens"]) - k + 1
    plate = boilerplate_hashes(list(boilerplate), k)
    prints = [fingerprint(s.code, k, window, plate) for s in students]
    code, counting = code_scores(prints, float(settings["code_common_fraction"]),
                                 float(settings["rare_fingerprints"]))
    views = [describe(s.architecture).choices() for s in students]
    arch, arch_weights, ids = architecture_scores(
        views, float(settings["architecture_common_fraction"]), float(settings["rare_choices"]))
    combined = 1.0 - (1.0 - code) * (1.0 - arch)
    keys = list(ids)
    pairs = []
    for i, j in zip(*np.nonzero(np.triu(combined >= float(settings["floor"]) - 1e-12, k=1))):
        both = np.intersect1d(arch_weights.items[i], arch_weights.items[j]).tolist()
        shared = sorted((Shared(keys[x], views[i][keys[x]], int(arch_weights.count[x]),
                                float(arch_weights.weight[x]))
                         for x in both if arch_weights.weight[x] > 0),
                        key=lambda s: (-s.bits, s.label))
        pairs.append(Pair(students[i].id, students[j].id, float(code[i, j]), float(arch[i, j]),
                          float(combined[i, j]), tuple(shared)))
    pairs.sort(key=lambda p: (-p.score, p.a, p.b))
    top = int(settings["html_pairs"])
    by_id = {s.id: p for s, p in zip(students, prints)}
    pairs[:top] = [_with_spans(p, by_id, counting) for p in pairs[:top]]
    flagged = [p for p in pairs if p.score >= float(settings["threshold"])]
    return Result(tuple(s.id for s in students), tuple(pairs), clusters(flagged), settings,
                  tuple(notes))


def _with_spans(pair: Pair, prints: dict[str, Fingerprint], counting: np.ndarray) -> Pair:
    """The pair with its matching code located (the fingerprints that count: not common)."""
    a, b = prints[pair.a], prints[pair.b]
    both = np.intersect1d(np.intersect1d(a.hashes, b.hashes), counting).tolist()
    return dataclasses.replace(pair, spans_a=matching_spans(a, both),
                               spans_b=matching_spans(b, both))


def clusters(pairs: Iterable[Pair]) -> tuple[tuple[str, ...], ...]:
    """Connected components of the given pairs, largest first (members sorted by id)."""
    parent: dict[str, str] = {}

    def root(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for pair in pairs:
        parent[root(pair.a)] = root(pair.b)
    groups: dict[str, list[str]] = {}
    for member in list(parent):
        groups.setdefault(root(member), []).append(member)
    return tuple(sorted((tuple(sorted(g)) for g in groups.values() if len(g) > 1),
                        key=lambda g: (-len(g), g)))


# --- a batch's results folder -----------------------------------------------------------------


def _safe_id(student: str) -> bool:
    return bool(student) and Path(student).name == student and not student.startswith(".")


def class_ids(folder: Path) -> list[str]:
    """The students of the batch that wrote ``folder``: grades.csv's rows, else every report."""
    folder = Path(folder)
    if not (folder / "reports").is_dir():
        raise SimilarityError(f"{folder} holds no reports/ folder: run `python -m grader batch "
                              f"SUBMISSIONS --out {folder}` first")
    saved = sorted(path.stem for path in (folder / "reports").glob("*.json"))
    grades = folder / "grades.csv"
    if not grades.is_file():
        return saved
    # grades.csv shows each id as a spreadsheet-safe cell: map the cells back to the ids
    by_cell = {csv_cell(student): student for student in saved}
    with open(grades, newline="", encoding="utf-8", errors="replace") as handle:
        return [by_cell.get(row["student"], row["student"]) for row in csv.DictReader(handle)
                if row.get("student")]


def source_path(folder: Path, student: str) -> Path | None:
    """The graded file the batch saved for ``student`` (``sources/<id>.py`` or ``.ipynb``)."""
    for suffix in SOURCE_SUFFIXES:
        path = Path(folder) / "sources" / f"{student}{suffix}"
        if path.is_file():
            return path
    return None


def load_class(folder: Path, ids: Iterable[str] | None = None) -> tuple[list[Student], list[str]]:
    """The students of a results folder (or only ``ids``), and notes on what was left out."""
    folder = Path(folder)
    no_source, no_architecture, unreadable = [], [], []
    students = []
    for student in (class_ids(folder) if ids is None else list(ids)):
        if not _safe_id(student):
            unreadable.append(student[:40])
            continue
        try:
            report = json.loads((folder / "reports" / f"{student}.json").read_text("utf-8"))
            report = report["report"] if isinstance(report.get("report"), dict) else report
        except (OSError, ValueError, AttributeError):
            unreadable.append(student)
            continue
        path = source_path(folder, student)
        if path is None:
            no_source.append(student)
            continue
        try:
            code = read_code(path)
        except (OSError, ValueError):
            unreadable.append(student)
            continue
        architecture = report.get("architecture")
        if not isinstance(architecture, dict):
            no_architecture.append(student)
            architecture = None
        accuracy = (report.get("metrics") or {}).get("test_accuracy")
        students.append(Student(student, code, architecture,
                                str(report.get("submission", ""))[:200],
                                accuracy if isinstance(accuracy, (int, float)) else None))
    notes = []
    if no_source:
        notes.append(f"{len(no_source)} without a saved source (not graded, or graded before "
                     f"batches saved sources/), left out: {_some(no_source)}")
    if no_architecture:
        notes.append(f"{len(no_architecture)} without an architecture (no model was built, or "
                     f"the report predates it), compared on code only: {_some(no_architecture)}")
    if unreadable:
        notes.append(f"{len(unreadable)} whose report or source could not be read, left out: "
                     f"{_some(unreadable)}")
    return students, notes


def _some(names: list[str], limit: int = 10) -> str:
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def read_boilerplate(paths: Iterable[str | Path]) -> tuple[list[str], list[str]]:
    """The boilerplate files' code, and notes on those that could not be read."""
    codes, notes = [], []
    for path in paths:
        try:
            codes.append(read_code(Path(path)))
        except (OSError, ValueError) as exc:
            notes.append(f"boilerplate {path} not read ({getattr(exc, 'strerror', None) or exc}): "
                         "its lines count as the students' own")
    return codes, notes


def analyse(folder: Path, settings: Mapping, extra_boilerplate: Iterable[str | Path] = (),
            ids: Iterable[str] | None = None) -> tuple[Result, dict[str, Student]]:
    """Read a results folder and compare its students (see ``compare``)."""
    settings = {**settings, "boilerplate": tuple(str(p) for p in [*settings["boilerplate"],
                                                                   *extra_boilerplate])}
    students, notes = load_class(folder, ids)
    codes, missing = read_boilerplate(settings["boilerplate"])
    result = compare(students, settings, codes, notes + missing)
    return result, {s.id: s for s in students}




def pairs_csv(result: Result) -> str:
    """similarity.csv: one row per pair at or above the floor, best first."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["a", "b", "code_score", "architecture_score", "score"])
    for pair in result.pairs:
        writer.writerow([csv_cell(pair.a), csv_cell(pair.b), f"{pair.code_score:.4f}",
                         f"{pair.architecture_score:.4f}", f"{pair.score:.4f}"])
    return out.getvalue()


def write_files(folder: Path, result: Result, students: Mapping[str, Student]) -> list[Path]:
    """Write similarity.csv and similarity.html into ``folder`` (atomically); their paths."""
    from grader.files import atomic_write
    from grader.reporters import similarity_html

    folder = Path(folder)
    written = [folder / "similarity.csv", folder / "similarity.html"]
    atomic_write(written[0], pairs_csv(result))
    atomic_write(written[1], similarity_html.render(result, students))
    return written
