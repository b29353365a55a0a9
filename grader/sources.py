"""Read a submission (``.py`` or ``.ipynb``) into the Python source the sandbox runs."""

from __future__ import annotations

import ast
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

MAX_BYTES = 2 * 1024 * 1024
ASSIGNMENT_STEM = "sentiment_classifier"
SUFFIXES = (".py", ".ipynb")
MAX_FOLDER_BYTES = 20 * 2**20
SKIPPED_DIRS = {"__pycache__", ".ipynb_checkpoints", ".git", "__MACOSX"}


class SourceError(ValueError):
    """The file cannot be graded at all (missing, too large, not text, not a notebook)."""


@dataclass(frozen=True)
class Submission:
    source: str
    script_name: str  # the name the script runs under in the sandbox


def read_submission(path: Path) -> Submission:
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise SourceError(f"cannot read {path}: {exc.strerror or exc}") from None
    if len(raw) > MAX_BYTES:
        raise SourceError(f"{path.name} is {len(raw) // 1024} KB; a submission may be at most "
                          f"{MAX_BYTES // 1024} KB")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SourceError(f"{path.name} is not UTF-8 text (byte {exc.start})") from None
    if path.suffix == ".ipynb":
        return Submission(notebook_to_script(text), path.stem + ".py")
    return Submission(text, path.name if path.suffix == ".py" else path.stem + ".py")


DISPLAY_HELPER = "__grader_display__"
_PRELUDE = (f"def {DISPLAY_HELPER}(value):\n"
            "    if value is not None:\n"
            "        print(repr(value))\n")


def _cell_code(cell) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


# Cell magics whose body is Python: the body runs, only the magic line is dropped.
_PYTHON_CELL_MAGICS = ("time", "timeit", "capture", "prun")


def _without_magics(code: str) -> str:
    """IPython magics and shell escapes become ``pass`` lines: nothing runs a shell.

    Every line keeps its place, so line numbers in messages stay the notebook's. A cell magic
    (``%%bash``, ``%%writefile``...) turns the whole cell into ``pass`` lines, unless its body is
    Python (``%%time``).
    """
    lines = code.splitlines()
    first = next((line.strip() for line in lines if line.strip()), "")
    whole_cell = first.startswith("%%") and first[2:].split(" ")[0] not in _PYTHON_CELL_MAGICS
    kept = []
    for line in lines:
        stripped = line.lstrip()
        if whole_cell or stripped.startswith(("%", "!")):
            indent = "" if whole_cell else line[: len(line) - len(stripped)]
            kept.append(f"{indent}pass  # notebook magic not run by the grader: {stripped[:60]}")
        else:
            kept.append(line)
    return "\n".join(kept)


def _display_last_expression(code: str) -> str:
    """Like Jupyter, show a cell's last bare expression (it counts as printed output)."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return code
    if not tree.body or not isinstance(tree.body[-1], ast.Expr):
        return code
    last = tree.body[-1]
    if isinstance(last.value, ast.Call) and getattr(last.value.func, "id", "") == "print":
        return code
    lines = code.splitlines()
    start, end = last.lineno - 1, last.end_lineno - 1
    # ast offsets count UTF-8 bytes; edit the end first so a one-line expression keeps its start.
    # Two parentheses: a bare tuple (`X.shape, y.shape`) is one value, not two arguments.
    tail = lines[end].encode()
    lines[end] = (tail[: last.end_col_offset] + b"))" + tail[last.end_col_offset:]).decode()
    head = lines[start].encode()
    lines[start] = (head[: last.col_offset] + f"{DISPLAY_HELPER}((".encode()
                    + head[last.col_offset:]).decode()
    return "\n".join(lines)


_CELL_MARKER = re.compile(r"^# --- cell (\d+) ---$")


def notebook_to_script(text: str) -> str:
    """A notebook's code cells in order, as one script (the first uncaught error ends the run)."""
    try:
        notebook = json.loads(text)
        cells = notebook["cells"]
    except (ValueError, KeyError, TypeError):
        raise SourceError("the notebook is not valid .ipynb JSON") from None
    parts = [_PRELUDE]
    for number, cell in enumerate(cells, 1):
        if isinstance(cell, dict) and cell.get("cell_type") == "code":
            code = _display_last_expression(_without_magics(_cell_code(cell)))
            parts.append(f"# --- cell {number} ---\n{code}\n")
    return "\n".join(parts)


def describe_line(source: str, lineno: int) -> str:
    """Where line ``lineno`` of the graded script is, in the student's terms.

    "line 12" for a ``.py``; "cell 7, line 2" for a notebook (cells counted from 1, markdown
    cells included, as they appear in the notebook).
    """
    if not source.startswith(_PRELUDE):
        return f"line {lineno}"
    lines = source.splitlines()[:lineno]
    for index in range(len(lines) - 1, -1, -1):
        match = _CELL_MARKER.match(lines[index])
        if match:
            return f"cell {match.group(1)}, line {lineno - index - 1}"
    return f"line {lineno}"


# --- a submission that is a folder (batch, nbgrader, Gradescope) -------------------------------


def folder_files(folder: Path) -> list[tuple[str, Path]]:
    """Every file under ``folder`` as (relative POSIX name, path), sorted; hidden files, caches
    and symbolic links left out."""
    found = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d not in SKIPPED_DIRS)
        for name in sorted(filenames):
            path = Path(dirpath, name)
            if not name.startswith(".") and path.is_file() and not path.is_symlink():
                found.append((path.relative_to(folder).as_posix(), path))
    return sorted(found)


def choose_file(candidates: list[str]) -> tuple[str | None, str]:
    """Which of a folder's top-level ``.py``/``.ipynb`` files to grade: (name or None, note)."""
    if len(candidates) == 1:
        return candidates[0], ""
    if not candidates:
        return None, "the folder has no .py or .ipynb file at its top level"
    named = sorted((c for c in candidates if Path(c).stem == ASSIGNMENT_STEM),
                   key=lambda c: (c.endswith(".ipynb"), c))
    others = [c for c in candidates if c != (named[0] if named else None)]
    if named:
        return named[0], (f"graded {named[0]}, the file named like the assignment; "
                          f"{', '.join(others)} copied beside it")
    return None, (f"the folder has {len(candidates)} candidate files ({', '.join(candidates)}) "
                  f"and none is named {ASSIGNMENT_STEM}.py or {ASSIGNMENT_STEM}.ipynb: "
                  "rename the one to grade")


def helper_files(folder: Path, graded: str) -> dict[str, bytes]:
    """The files beside the graded one that go into its sandbox (helper modules, data files).

    Raises:
        SourceError: the folder holds more than ``MAX_FOLDER_BYTES``.
    """
    files = [(name, path) for name, path in folder_files(folder) if name != graded]
    size = sum(path.stat().st_size for _, path in files)
    if size > MAX_FOLDER_BYTES:
        raise SourceError(f"the folder holds {size // 2**20} MB beside {graded}; a submission may "
                          f"hold at most {MAX_FOLDER_BYTES // 2**20} MB")
    return {name: path.read_bytes() for name, path in files}
