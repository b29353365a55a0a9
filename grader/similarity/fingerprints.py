"""A submission's code as Python source, and its fingerprints: what the code score compares.

``read_code`` reads a ``.py``, an ``.ipynb`` (its code cells) or an ``.md`` (its Python blocks);
``fingerprint`` hashes the normalised code's k-grams (copydetect's tokenizer and winnowing), never
across the end of a statement; ``matching_spans`` finds shared fingerprints in the raw source.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np

MAX_CODE_CHARS = 100_000  # fingerprinted and shown per submission; the rest is cut
MAX_FILE_BYTES = 20 * 2**20  # a notebook may carry large outputs; they are not read
MIN_STATEMENT = 3  # a shorter normalised statement (`V=`) is not a fingerprint
_PYTHON_CELL_MAGICS = ("time", "timeit", "capture", "prun")
_HASH_BITS = 52  # k-gram hashes stay exact as floats (copydetect's winnowing compares floats)
_FENCE = re.compile(r"^```\s*(python3?|py|ipython3?)\s*$", re.IGNORECASE)


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
