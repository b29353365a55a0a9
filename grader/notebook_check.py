"""``import grader; grader.check()`` in a Jupyter cell: grade the notebook as it is saved.

Nothing of the student's runs in the kernel, and no grading either: ``check`` finds the notebook
file, starts ``python -m grader --format json --html <temp> [--exercise NAME] NOTEBOOK`` in a
subprocess (the same sandboxed grading as the command line, the grading daemon included), reads
its JSON report back into a :class:`grader.core.report.Report`, shows the HTML report inline
(plain text outside IPython) and returns the report. Its temporary files are removed; nothing is
written beside the notebook.

Which notebook, in order (each must name an existing file):

1. VS Code's ``__vsc_ipynb_file__`` in the user's namespace;
2. the running Jupyter servers' ``/api/sessions`` (``jupyter_server``'s runtime files, classic
   notebook's too): the session whose kernel is this kernel (its id is in ipykernel's connection
   file name). It follows a notebook renamed or saved under another name while the kernel runs;
3. ``JPY_SESSION_NAME``, which ``jupyter_server`` sets for the kernels it starts (the path at
   kernel start).

Elsewhere the check raises :class:`CheckError`, whose message says to call
``grader.check("path.ipynb")``. In Google Colab the notebook is not a local file: Colab's own API
hands it over (see ``_colab_notebook``).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from grader.core.report import Report
from grader.sources import is_grader_check

__all__ = ["check", "CheckError", "find_notebook", "stale_note"]

SERVER_TIMEOUT = 2.0  # seconds for one server's /api/sessions
COLAB_TIMEOUT = 30.0  # seconds for Colab to hand over the notebook
IFRAME_HEIGHT = 720  # pixels, before the report's page has measured itself


class CheckError(RuntimeError):
    """``grader.check`` could not grade: the message says why and what to do. IPython shows it as
    that message alone, without the grader's traceback."""

    def _render_traceback_(self) -> list[str]:  # IPython's hook for an exception's display
        return [f"grader.check: {self}"]


def not_found_message(tried: list[str]) -> str:
    """The one paragraph a student reads when the notebook cannot be found."""
    where = "; ".join(tried) if tried else "this Python is not a Jupyter kernel"
    return ("grader.check() could not find which notebook this is (" + where + "). Save the "
            "notebook and name it, relative to this notebook's folder or in full: "
            'grader.check("path.ipynb") (for another exercise, grader.check("path.ipynb", '
            'exercise="NAME")). In a terminal, python -m grader path.ipynb grades it too.')


@dataclass(frozen=True, repr=False)
class CheckedReport(Report):
    """The report ``check`` returns: a :class:`Report` whose repr is one line, since the notebook
    shows what its last cell returns (the full report is shown above it)."""

    def __repr__(self) -> str:
        return (f"<grader report of {self.submission}: {self.score:g}/{self.max_score:g}, "
                f"{sum(c.passed for c in self.checks)}/{len(self.checks)} checks passed>")


# --- which notebook --------------------------------------------------------------------------

def _shell():
    """The running IPython shell, or None (plain Python, or IPython not installed)."""
    module = sys.modules.get("IPython")
    get = getattr(module, "get_ipython", None)
    return get() if get else None


def connection_file() -> Path | None:
    """This kernel's connection file (ipykernel's); None outside a kernel."""
    if "ipykernel" not in sys.modules:
        return None
    try:
        from ipykernel import get_connection_file

        return Path(get_connection_file())
    except Exception:  # noqa: BLE001 - no kernel application: not a kernel
        return None


def kernel_id(connection: Path | None) -> str | None:
    """The kernel's id, as a Jupyter server names its connection file (``kernel-<id>.json``);
    None for a kernel started otherwise (nbclient, a console)."""
    match = re.fullmatch(r"kernel-(.+)\.json", connection.name) if connection else None
    return match.group(1) if match else None


def _server_infos() -> list[dict]:
    """The running Jupyter servers' info files: jupyter_server's ``jpserver-*.json`` and classic
    notebook's ``nbserver-*.json``, each with its url, token and root folder."""
    infos = []
    try:
        from jupyter_server.serverapp import list_running_servers

        infos += list(list_running_servers())
    except Exception:  # noqa: BLE001 - jupyter_server missing or its runtime folder unreadable
        pass
    try:
        from jupyter_core.paths import jupyter_runtime_dir

        for path in sorted(Path(jupyter_runtime_dir()).glob("nbserver-*.json")):
            infos.append(json.loads(path.read_text(encoding="utf-8")))
    except Exception:  # noqa: BLE001 - no classic server, or a file being written
        pass
    return [info for info in infos if isinstance(info, dict)]


def _sessions(info: dict) -> list:
    """One server's sessions (``GET /api/sessions``); [] when it does not answer."""
    url = info.get("url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        return []  # a server on a Unix socket
    request = urllib.request.Request(url.rstrip("/") + "/api/sessions")
    if info.get("token"):
        request.add_header("Authorization", f"token {info['token']}")
    try:
        with urllib.request.urlopen(request, timeout=SERVER_TIMEOUT) as response:
            sessions = json.loads(response.read(4 * 2**20))
    except Exception:  # noqa: BLE001 - refused, timed out, a password login page, not JSON
        return []
    return sessions if isinstance(sessions, list) else []


def server_session_path(kernel: str, infos: list[dict]) -> Path | None:
    """The file of the server session whose kernel is ``kernel``, on this machine."""
    for info in infos:
        root = info.get("root_dir") or info.get("notebook_dir")
        for session in _sessions(info):
            if not isinstance(session, dict) or not isinstance(session.get("kernel"), dict):
                continue
            path = session.get("path") or (session.get("notebook") or {}).get("path")
            if session["kernel"].get("id") == kernel and isinstance(path, str) and \
                    isinstance(root, str):
                return Path(root, *path.split("/"))
    return None


def find_notebook(shell=None, environ=None) -> Path:
    """The notebook file this kernel runs (see the module's docstring for the order).

    Raises:
        CheckError: none found; its message says how to name the file.
    """
    environ = os.environ if environ is None else environ
    namespace = getattr(shell, "user_ns", None) or {}
    tried = []
    vscode = namespace.get("__vsc_ipynb_file__")
    if isinstance(vscode, str):
        if Path(vscode).is_file():
            return Path(vscode)
        tried.append(f"VS Code names {vscode}, which does not exist")
    connection = connection_file()
    kernel = kernel_id(connection)
    if kernel:
        path = server_session_path(kernel, _server_infos())
        if path is not None and path.is_file():
            return path
        tried.append("no running Jupyter server has a session for this kernel"
                     if path is None else f"the server's session names {path}, not saved yet")
    session = environ.get("JPY_SESSION_NAME")
    if session:
        path = Path(session) if os.path.isabs(session) else Path.cwd() / Path(session).name
        if path.is_file():
            return path
        tried.append(f"JPY_SESSION_NAME names {session}, which does not exist")
    if not tried:
        tried.append("this kernel was not started by a Jupyter server" if connection else
                     "this Python is not a Jupyter kernel")
    raise CheckError(not_found_message(tried))


def _colab_notebook(folder: Path) -> Path | None:
    """In Google Colab, the notebook as Colab holds it, written into ``folder``; None elsewhere.

    Colab's notebooks live in Google Drive, not on the kernel's disk: Colab's own (private)
    ``google.colab._message.blocking_request("get_ipynb")`` hands over the notebook's JSON.
    Untested here (no Colab in the test suite): kept to these few lines on purpose.
    """
    try:
        from google.colab import _message
    except ImportError:
        return None
    reply = _message.blocking_request("get_ipynb", timeout_sec=COLAB_TIMEOUT)
    notebook = reply.get("ipynb") if isinstance(reply, dict) else None
    if not isinstance(notebook, dict):
        raise CheckError("Colab did not hand over this notebook: download it (File > Download "
                         '> Download .ipynb), upload it beside this notebook and call '
                         'grader.check("name.ipynb")')
    path = folder / "colab_notebook.ipynb"
    path.write_text(json.dumps(notebook), encoding="utf-8")
    return path


# --- is the saved file what ran? -------------------------------------------------------------

def stale_note(notebook: Path, shell) -> str:
    """One line when the saved file is older than the cells this kernel ran; "" otherwise.

    Two signs, from what the kernel remembers: a cell it ran (other than a ``grader.check`` cell)
    whose code is in no code cell of the file (edited, or added, after the save); or a cell that
    ran after the file's last saved execution count.
    """
    history = getattr(getattr(shell, "history_manager", None), "input_hist_raw", None)
    if not isinstance(history, list) or not history:
        return ""
    try:
        cells = json.loads(notebook.read_text(encoding="utf-8-sig"))["cells"]
        codes = [c for c in cells if isinstance(c, dict) and c.get("cell_type") == "code"]
        saved = {("".join(c["source"]) if isinstance(c.get("source"), list)
                  else str(c.get("source", ""))).strip() for c in codes}
        last_saved = max((c["execution_count"] for c in codes
                          if isinstance(c.get("execution_count"), int)), default=0)
    except (OSError, ValueError, KeyError, TypeError):
        return ""  # the grading says what is wrong with the file
    # history[0] is "", history[n] cell [n]; the last is the cell running now (this check)
    ran = [(number, text) for number, text in enumerate(history[1:-1], start=1)
           if isinstance(text, str) and text.strip() and not is_grader_check(text)]
    missing = [number for number, text in ran if text.strip() not in saved]
    advice = "the grader grades the file as saved: save it (Ctrl+S) and run this cell again."
    if missing:
        cells = ("…, " if len(missing) > 3 else "") + ", ".join(f"[{n}]" for n in missing[-3:])
        return (f"Note: {notebook.name} as saved does not hold the code of {len(missing)} "
                f"cell(s) you ran ({cells}): {advice}")
    if ran and ran[-1][0] > last_saved:
        return (f"Note: {notebook.name} was saved before the last cells you ran (this kernel ran "
                f"[{ran[-1][0]}], the file's last saved cell is [{last_saved}]): {advice}")
    return ""


# --- grading, in a subprocess ----------------------------------------------------------------

def _grade(notebook: Path, exercise: str | None, folder: Path) -> tuple[Report, str]:
    """The CLI's grading of ``notebook``: its report, and its HTML page ("" if none)."""
    page = folder / "report.html"
    command = [sys.executable, "-m", "grader", "--format", "json", "--html", str(page),
               *(["--exercise", exercise] if exercise else []), str(notebook.resolve())]
    process = subprocess.Popen(command, cwd=folder, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = process.communicate()
    except BaseException:  # the kernel interrupted (KeyboardInterrupt): stop the grading cleanly
        process.terminate()  # the CLI treats SIGTERM as Ctrl-C: sandboxes stopped, folders removed
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        raise
    report = _read_report(out)
    if report is None:
        said = err.decode("utf-8", "replace").strip().splitlines()
        raise CheckError(f"the grader did not report (exit code {process.returncode})"
                         + (f": {said[-1]}" if said else ""))
    try:
        html = page.read_text(encoding="utf-8")
    except OSError:
        html = ""
    return report, html


def _read_report(out: bytes) -> CheckedReport | None:
    """The CLI's JSON report, or None when its output is not one."""
    try:
        data = json.loads(out.decode("utf-8"))
        if not isinstance(data, dict) or not isinstance(data.get("checks"), list):
            return None
        return CheckedReport.from_dict(data)
    except (ValueError, TypeError, KeyError, AttributeError):
        return None


def score_line(report: Report, name: str) -> str:
    """The report in one line: score, and why it is not full."""
    from grader.report import main_reason

    line = f"Grader: {report.score:g}/{report.max_score:g} for {name}"
    reason = main_reason(report.to_dict())
    return line + (f". Main reason: {reason}." if reason else ", every check passed.")


def _show(report: Report, page: str, lines: list[str], shell) -> None:
    """The notes and the score line as text; the HTML report inline in IPython (in an iframe,
    so its page style stays out of the notebook's), else the text report."""
    for line in lines:
        print(line)
    if shell is not None and page:
        from html import escape

        from IPython.display import HTML, display

        resize = "this.style.height=(this.contentWindow.document.body.scrollHeight+40)+'px'"
        display(HTML(f'<div class="grader-report"><iframe srcdoc="{escape(page, quote=True)}" '
                     f'title="grader report" onload="{resize}" style="width:100%;'
                     f'height:{IFRAME_HEIGHT}px;border:1px solid #ccc"></iframe></div>'))
    else:
        from grader.reporters import shown, terminal

        print(terminal.render(shown(report)))


def check(path: str | os.PathLike | None = None, *, exercise: str | None = None) -> Report:
    """Grade this notebook as it is saved, show the report, and return it.

    Args:
        path: the notebook to grade (default: the notebook this kernel runs, as saved).
        exercise: the exercise's name (default: the grader's default exercise).

    Returns:
        The report (``.score``, ``.max_score``, ``.checks``).

    Raises:
        CheckError: the notebook cannot be found or the grader gave no report.

    Example: ``import grader; grader.check()`` as the notebook's last cell.
    """
    shell = _shell()
    with tempfile.TemporaryDirectory(prefix="grader-check-") as folder:
        colab = _colab_notebook(Path(folder)) if path is None else None
        if colab is not None:
            notebook, lines = colab, []  # Colab hands over the notebook as it is now
        else:
            notebook = find_notebook(shell) if path is None else Path(path)
            if not notebook.is_file():
                raise CheckError(f"no such notebook: {notebook} (name it relative to "
                                 f"{Path.cwd()} or in full)")
            lines = [note for note in [stale_note(notebook, shell)] if note]
        report, page = _grade(notebook, exercise, Path(folder))
    _show(report, page, [*lines, score_line(report, notebook.name)], shell)
    return report
