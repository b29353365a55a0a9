"""Read a submission (``.py`` or ``.ipynb``) into the Python source the sandbox runs."""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass
from pathlib import Path

MAX_BYTES = 2 * 1024 * 1024


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


def _without_magics(code: str) -> str:
    """IPython magics and shell escapes become comments: nothing runs a shell."""
    lines = []
    for line in code.splitlines():
        stripped = line.lstrip()
        if stripped.startswith(("%", "!")):
            indent = line[: len(line) - len(stripped)]
            lines.append(f"{indent}pass  # notebook magic not run by the grader: {stripped[:60]}")
        else:
            lines.append(line)
    return "\n".join(lines)


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
    # ast offsets count UTF-8 bytes; edit the end first so a one-line expression keeps its start
    tail = lines[end].encode()
    lines[end] = (tail[: last.end_col_offset] + b")" + tail[last.end_col_offset:]).decode()
    head = lines[start].encode()
    lines[start] = (head[: last.col_offset] + f"{DISPLAY_HELPER}(".encode()
                    + head[last.col_offset:]).decode()
    return "\n".join(lines)


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
