"""Read a submission (``.py`` or ``.ipynb``) into the Python source the sandbox runs."""

from __future__ import annotations

import ast
import html
import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

MAX_BYTES = 2 * 1024 * 1024  # of code: a script, or the script a notebook's code cells make
MAX_NOTEBOOK_BYTES = 64 * 2**20  # a whole .ipynb, stored outputs (images) included
SUFFIXES = (".py", ".ipynb")
# Code Python loads that is no source the grader can read (compiled modules, extension modules,
# path files): refused beside a submission, which may hold only .py/.ipynb code and data.
COMPILED_SUFFIXES = (".pyc", ".pyo", ".so", ".pyd", ".pth", ".dll", ".dylib")
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
    notebook = path.suffix == ".ipynb"
    if len(raw) > (MAX_NOTEBOOK_BYTES if notebook else MAX_BYTES):
        raise SourceError(_too_large(path.name, len(raw), notebook))
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SourceError(f"{path.name} is not UTF-8 text (byte {exc.start}): save it with the "
                          "UTF-8 encoding (your editor's Save As or encoding setting) and hand "
                          "it in again") from None
    if notebook:
        script = notebook_to_script(text)
        if len(script.encode("utf-8")) > MAX_BYTES:  # stored outputs are not graded: code is
            raise SourceError(f"the code cells of {path.name} hold "
                              f"{len(script.encode('utf-8')) // 1024} KB of code; a submission "
                              f"may hold at most {MAX_BYTES // 1024} KB: remove the data pasted "
                              "into its cells")
        return Submission(script, path.stem + ".py")
    return Submission(text, path.name if path.suffix == ".py" else path.stem + ".py")


def _too_large(name: str, size: int, notebook: bool) -> str:
    """Why a file is too large to read, and what to do: a notebook's size is mostly its
    stored outputs, which grading ignores."""
    if notebook:
        return (f"{name} is {size // 2**20} MB; a notebook may be at most "
                f"{MAX_NOTEBOOK_BYTES // 2**20} MB: clear its outputs (Edit > Clear All Outputs "
                "in Jupyter), save it and hand it in again")
    return (f"{name} is {size // 1024} KB; a submission may be at most {MAX_BYTES // 1024} KB: "
            "remove the data or output pasted into it")


DISPLAY_HELPER = "__grader_display__"
CELL_END = "__grader_cell_end__"
SYNTAX_ERROR = "__grader_syntax_error__"
# Defined before the first cell, as Jupyter's kernel defines them: what IPython's transformed
# magics call (nothing runs a shell; %%writefile writes in the work directory), `display`, the
# display of a cell's last expression, the end of a cell (the inline backend shows and closes
# the cell's figures), and the SyntaxError of a cell Python cannot compile (placed at the
# calling line; its text is Python's message alone, without the script's name and line). They
# run from their own file name, so an error inside them (a `%time` statement that fails, say) is
# reported at the student's line that called them.
_SUPPORT = f'''\
def {DISPLAY_HELPER}(value):
    if value is not None:
        print(repr(value))
def display(*objs, **kwargs):
    for obj in objs:
        print(repr(obj))
class __GraderShell__:
    def run_line_magic(self, name, line, _stack_depth=1):
        if name in ("time", "timeit"):
            import sys
            frame = sys._getframe(1)
            exec(line, frame.f_globals, frame.f_locals)
    def run_cell_magic(self, name, line, cell):
        if name == "writefile" and line.split():
            with open(line.split()[-1], "a" if "-a" in line.split() else "w") as handle:
                handle.write(cell)
    def system(self, *args, **kwargs):
        return None
    def getoutput(self, *args, **kwargs):
        return []
    def __getattr__(self, name):
        return lambda *args, **kwargs: None
__grader_shell__ = __GraderShell__()
def get_ipython():
    return __grader_shell__
def {CELL_END}():
    import sys
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None and pyplot.get_fignums():
        pyplot.show()
        pyplot.close("all")
def {SYNTAX_ERROR}(message, offset, text, lines, end_offset):
    import sys
    caller = sys._getframe(1)
    error = type("SyntaxError", (SyntaxError,),
                 {{"__str__": lambda self: self.msg, "__module__": "builtins"}})
    end = None if lines is None else caller.f_lineno + lines
    return error(message, (caller.f_code.co_filename, caller.f_lineno, offset, text, end,
                           end_offset))
'''
_PRELUDE = f"exec(compile({_SUPPORT!r}, '<jupyter support>', 'exec'))\n"


# Cell magics whose body is Python: the body runs as the cell's code, only the magic line goes.
_PYTHON_CELL_MAGICS = ("time", "timeit", "capture", "prun")
_CELL_MARKER = re.compile(r"^# --- code cell (\d+) ---(?: (.*))?$")
_HEADING = re.compile(r"^ {0,3}#{1,6}\s+(.+?)\s*#*\s*$")
_SETEXT_UNDERLINE = re.compile(r"^ {0,3}(?:=+|-+)\s*$")
_HTML_HEADING = re.compile(r"<h([1-6])(?:\s[^>]*)?>(.*?)</h\1\s*>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]*>")
MAX_HEADING = 60


def is_notebook(source: str) -> bool:
    """Whether ``source`` is a notebook turned into a script by ``notebook_to_script``."""
    return source.startswith(_PRELUDE)


def _one_line(text: str, limit: int = MAX_HEADING) -> str:
    """Printable characters only (no line or paragraph separators), spaces collapsed, capped."""
    text = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _heading(markdown: str) -> str:
    """The last heading of a markdown cell, in any of markdown's spellings: ATX
    ("## **Step 3: Build the model**"), setext (a line underlined with ``===`` or ``---``) or HTML
    (``<h2 class="x">Step 3: Build the model</h2>``) -> "Step 3: Build the model"; or ""."""
    found, paragraph = [], []  # (line index, heading text); the lines a setext line underlines
    lines = markdown.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    for index, line in enumerate(lines):
        atx = _HEADING.match(line)
        if atx:
            found.append((index, atx.group(1)))
        elif _SETEXT_UNDERLINE.match(line) and paragraph:
            found.append((index, " ".join(paragraph)))
        if line.strip() and not atx and not _SETEXT_UNDERLINE.match(line):
            paragraph.append(line)
        else:
            paragraph = []
    text = "\n".join(lines)
    found += [(text.count("\n", 0, match.end()), match.group(2))
              for match in _HTML_HEADING.finditer(text)]
    headings = [_heading_text(raw) for _, raw in sorted(found, key=lambda item: item[0])]
    return next((heading for heading in reversed(headings) if heading), "")


def _heading_text(raw: str) -> str:
    """A heading's words as the student reads them: no tags, emphasis or code marks, entities
    decoded, on one capped line of printable characters."""
    text = html.unescape(_TAG.sub("", raw)).replace("**", "").replace("`", "")
    return _one_line(text).strip("*_ ")


def _python_cell_magic(code: str) -> str:
    """A ``%%time`` (or other Python-bodied cell magic) line becomes a comment: its body runs
    as the cell, and every line keeps its number."""
    lines = code.split("\n")
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is not None and lines[first].lstrip().startswith("%%") and \
            lines[first].strip()[2:].split(" ")[0] in _PYTHON_CELL_MAGICS:
        lines[first] = "# " + lines[first].strip()
    return "\n".join(lines)


def _quiet(code: str, end_line: int, end_col: int) -> bool:
    """IPython's rule: a cell whose last expression ends with ``;`` displays nothing."""
    lines = code.split("\n")
    rest = lines[end_line - 1].encode()[end_col:].decode(errors="replace")
    rest = "\n".join([rest, *lines[end_line:]])
    return re.sub(r"#[^\n]*", "", rest).strip().startswith(";")


def cell_to_code(code: str) -> str:
    """One code cell as Python that runs the way Jupyter runs it, line for line.

    IPython's own input transformers turn magics and shell escapes into ``get_ipython()`` calls
    (the prelude's shell runs no shell), and, as IPython's ``ast_node_interactivity="last_expr"``
    does, a last bare expression is displayed (unless it ends with ``;``).
    """
    from IPython.core.inputtransformer2 import TransformerManager

    code = _python_cell_magic(code.replace("\r\n", "\n").replace("\r", "\n"))
    try:
        code = TransformerManager().transform_cell(code)
    except Exception:  # noqa: BLE001 - IPython could not read it: Python will say why
        pass
    code = code.rstrip("\n")
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return code
    if not tree.body or not isinstance(tree.body[-1], ast.Expr):
        return code
    last = tree.body[-1]
    if _quiet(code, last.end_lineno, last.end_col_offset) or (
            isinstance(last.value, ast.Call) and getattr(last.value.func, "id", "") == "print"):
        return code  # nothing to show (print returns None): the student's line stays as written
    lines = code.split("\n")
    start, end = last.lineno - 1, last.end_lineno - 1
    # ast offsets count UTF-8 bytes; edit the end first so a one-line expression keeps its start.
    # Two parentheses: a bare tuple (`X.shape, y.shape`) or a starred one is one value.
    tail = lines[end].encode()
    lines[end] = (tail[: last.end_col_offset] + b"))" + tail[last.end_col_offset:]).decode()
    head = lines[start].encode()
    lines[start] = (head[: last.col_offset] + f"{DISPLAY_HELPER}((".encode()
                    + head[last.col_offset:]).decode()
    return "\n".join(lines)


def as_written(line: str) -> str:
    """A line of the graded script as the student wrote it (without the display wrapper)."""
    wrapper = f"{DISPLAY_HELPER}(("
    if wrapper not in line:
        return line
    line = line.replace(wrapper, "", 1)
    if line.count(")") - line.count("(") >= 2:
        cut = line.rstrip().rfind("))")
        line = line[:cut] + line[cut + 2:]
    return line


GRADER_CHECK_SKIPPED = "# grader.check(): the grader's own check, not run when grading"


def is_grader_check(code: str) -> bool:
    """Whether a code cell only asks the grader for a report: ``import grader`` and
    ``grader.check(...)`` calls with literal arguments, nothing else (the last cell of the
    exercises' notebooks). Grading skips such a cell: the grader does not grade itself, and any
    other use of ``grader`` is still refused by the audit."""
    try:
        body = ast.parse(code).body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False

    def literal(node) -> bool:
        return isinstance(node, ast.Constant) and isinstance(node.value, (str, type(None)))

    def is_check(node) -> bool:
        call = node.value if isinstance(node, ast.Expr) else None
        return (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                and call.func.attr == "check" and isinstance(call.func.value, ast.Name)
                and call.func.value.id == "grader" and all(map(literal, call.args))
                and all(k.arg and literal(k.value) for k in call.keywords))

    def is_import(node) -> bool:
        return isinstance(node, ast.Import) and [(a.name, a.asname) for a in node.names] == \
            [("grader", None)]

    return any(map(is_check, body)) and all(is_check(n) or is_import(n) for n in body)


def _source_text(cell) -> str:
    source = cell.get("source", "")
    return "".join(map(str, source)) if isinstance(source, list) else str(source)


def _stops_at_syntax_error(code: str) -> str:
    """A cell's code, or, when Python cannot compile it, what "Run All" does with it: the cell
    runs nothing and raises Python's SyntaxError, from the line Python names (blank lines keep
    the numbering), so the cells before it have run and the ones after it do not."""
    try:
        compile(code, "<cell>", "exec", dont_inherit=True)
    except SyntaxError as exc:
        lineno = max(exc.lineno or 1, 1)
        lines = code.split("\n")
        text = exc.text or (lines[lineno - 1] if lineno <= len(lines) else None)
        span = exc.end_lineno - lineno if exc.end_lineno and exc.lineno else None
        return "\n" * (lineno - 1) + (f"raise {SYNTAX_ERROR}({exc.msg!r}, {exc.offset!r}, "
                                      f"{text!r}, {span!r}, {exc.end_offset!r})")
    except (ValueError, RecursionError, MemoryError):
        pass  # compiling the whole script says the same, and why
    return code


def _language(metadata) -> str:
    """The language the notebook's kernel runs, as its metadata says ("" when it does not)."""
    for section, key in (("language_info", "name"), ("kernelspec", "language")):
        value = metadata.get(section) if isinstance(metadata, dict) else None
        value = value.get(key) if isinstance(value, dict) else None
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""


def _read_notebook(text: str):
    """The notebook ``text`` holds, or a SourceError that says what else it is."""
    import nbformat

    try:
        with warnings.catch_warnings():  # missing cell ids and the like: Jupyter opens it too
            warnings.simplefilter("ignore")
            return nbformat.reads(text, as_version=4)
    except Exception:  # noqa: BLE001 - nbformat raises many kinds; all mean the same here
        if not text.lstrip().startswith("{"):
            raise SourceError("this file is not a notebook (.ipynb files are JSON): if it is "
                              "a Python script, name it .py") from None
        raise SourceError("the notebook is not valid .ipynb JSON (perhaps cut short or edited "
                          "by hand): open it in Jupyter, save it and hand it in again") from None


def notebook_to_script(text: str) -> str:
    """A notebook's code cells in order, as one script that runs like "Run All" in Jupyter (the
    first uncaught error ends the run; a cell Python cannot compile raises its SyntaxError when
    its turn comes).

    Each code cell is headed by a marker comment naming it (its number among code cells and the
    markdown heading above it), which ``describe_line`` reads back.

    Raises:
        SourceError: not a notebook, a notebook for another language, or no code cells.
    """
    notebook = _read_notebook(text)
    try:
        cells, language = list(notebook.cells), _language(notebook.get("metadata"))
    except Exception:  # noqa: BLE001 - a notebook whose cells are no list
        raise SourceError("the notebook is not valid .ipynb JSON (it has no list of cells): "
                          "open it in Jupyter, save it and hand it in again") from None
    if language and not language.lower().startswith(("python", "ipython")):
        raise SourceError(f"this is a notebook for {_one_line(language, 40)}, not Python: the "
                          "exercise is graded as a Python notebook; write it in a notebook "
                          "with a Python 3 kernel")
    parts, heading, number = [_PRELUDE], "", 0
    for cell in cells:
        kind = cell.get("cell_type") if isinstance(cell, dict) else None
        if kind == "markdown":
            heading = _heading(_source_text(cell)) or heading
        elif kind == "code":
            number += 1
            marker = f"# --- code cell {number} ---" + (f" {heading}" if heading else "")
            text = _source_text(cell)
            code = GRADER_CHECK_SKIPPED if is_grader_check(text) else \
                _stops_at_syntax_error(cell_to_code(text))
            parts.append(f"{marker}\n{code}\n{CELL_END}()\n")
    if not number:
        raise SourceError("the notebook has no code cells: write your code in code cells (not "
                          "markdown cells), save the notebook and hand it in again")
    return "\n".join(parts)


def describe_line(source: str, lineno: int, short: bool = False) -> str:
    """Where line ``lineno`` of the graded script is, the way the student sees it.

    "line 12" for a ``.py``; for a notebook, the line within its code cell and the markdown
    heading above that cell ("line 2 of the cell under “Step 3: Build the model”"), or the cell's
    number among the code cells when no heading comes before it ("line 2 of code cell 4").
    ``short`` words it for a few-word note: "“Step 3: Build the model”, line 2".
    """
    if not is_notebook(source):
        return f"line {lineno}"
    lines = source.split("\n")[:lineno]
    for index in range(len(lines) - 1, -1, -1):
        match = _CELL_MARKER.match(lines[index])
        if match:
            within = lineno - index - 1
            if match.group(2) and short:
                return f"“{_one_line(match.group(2), 40)}”, line {within}"
            if match.group(2):
                return f"line {within} of the cell under “{_one_line(match.group(2))}”"
            return f"code cell {match.group(1)}, line {within}" if short else \
                f"line {within} of code cell {match.group(1)}"
    return f"line {lineno}"


def submission_noun(source: str) -> str:
    """"notebook" or "script": what the student handed in."""
    return "notebook" if is_notebook(source) else "script"


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


def choose_file(candidates: list[str], stem: str) -> tuple[str | None, str]:
    """Which of a folder's top-level ``.py``/``.ipynb`` files to grade: (name or None, note);
    of several, the one named ``stem`` (the exercise's template's name)."""
    if len(candidates) == 1:
        return candidates[0], ""
    if not candidates:
        return None, "the folder has no .py or .ipynb file at its top level"
    named = sorted((c for c in candidates if Path(c).stem == stem),
                   key=lambda c: (c.endswith(".ipynb"), c))
    others = [c for c in candidates if c != (named[0] if named else None)]
    if named:
        return named[0], (f"graded {named[0]}, the file named like the assignment; "
                          f"{', '.join(others)} copied beside it")
    return None, (f"the folder has {len(candidates)} candidate files ({', '.join(candidates)}) "
                  f"and none is named {stem}.py or {stem}.ipynb: "
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
