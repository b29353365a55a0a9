"""``import grader; grader.check()`` inside a notebook (grader/notebook_check.py).

The slow tests grade for real: a Jupyter server started here on localhost, a kernel session for
a notebook whose last cell calls ``grader.check()`` (the cell run through the kernel's own
connection file, as JupyterLab or the classic notebook run it), and nbclient running a notebook
that names the file to grade. The others run a real kernel (nbclient) or plain Python without
grading: the message where no notebook can be found, and the note when the saved file is older
than the cells run. Every kernel here gets its own Jupyter runtime folder, so no server of the
machine's is asked.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from jupyter_client import BlockingKernelClient
from nbclient import NotebookClient

from grader import make_notebook
from grader.audit import tampering
from grader.core.report import Report
from grader.exercise import get as exercise
from grader.notebook_check import CheckError, find_notebook
from grader.sources import GRADER_CHECK_SKIPPED, is_grader_check, notebook_to_script
from sentiment_exercise import CHECK_IDS, SOLUTION

CHECK_CELL = "import grader; grader.check()"
SCORE_LINE = "Grader: 100/100 for solution.ipynb, every check passed."
KERNEL_TIMEOUT = 600  # seconds for one cell: a grading on a busy machine


def solution_cells() -> list[str]:
    """The sentiment solution as a student's notebook has it: the imports, then one cell per
    step (``# Step N`` starts one)."""
    text = SOLUTION.read_text(encoding="utf-8")
    body = text[text.index('"""', 3) + 3:].strip()
    return [part.strip() for part in re.split(r"\n(?=# Step \d+)", body)]


def write_notebook(path: Path, codes: list[str], counts: list[int | None] | None = None) -> Path:
    cells = [nbformat.v4.new_code_cell(code) for code in codes]
    for cell, count in zip(cells, counts or [None] * len(cells)):
        cell.execution_count = count
    nbformat.write(nbformat.v4.new_notebook(cells=cells), str(path))
    return path


def kernel_env(runtime: Path) -> dict[str, str]:
    """The environment of the processes started here: an empty Jupyter runtime folder of its own
    (no server of the machine's is found) and no session name inherited."""
    env = {k: v for k, v in os.environ.items() if k != "JPY_SESSION_NAME"}
    return {**env, "JUPYTER_RUNTIME_DIR": str(runtime)}


def run_with_nbclient(notebook, cwd: Path, runtime: Path, allow_errors: bool = False):
    """``notebook`` executed in a fresh kernel started in ``cwd`` (its outputs filled in)."""
    NotebookClient(notebook, timeout=KERNEL_TIMEOUT, kernel_name="python3",
                   allow_errors=allow_errors, resources={"metadata": {"path": str(cwd)}}
                   ).execute(env=kernel_env(runtime))
    return notebook


def text_of(outputs) -> str:
    return "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")


def grader_temp_folders() -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).glob("grader-check-*")}


# --- the cell students get, and how grading reads it ------------------------------------------

@pytest.mark.parametrize("name, call", [("sentiment", "grader.check()"),
                                        ("multiclass", "grader.check(exercise='multiclass')")])
def test_both_exercises_notebooks_end_with_the_check_cell_worth_no_points(name, call):
    notebook = make_notebook.build_notebook(exercise=exercise(name))
    last = notebook["cells"][-1]
    source = "".join(last["source"])
    assert source.endswith(f"import grader; {call}") and is_grader_check(source)
    assert last["metadata"]["nbgrader"]["grade"] is False
    assert "points" not in last["metadata"]["nbgrader"]
    committed = make_notebook.notebook_path(exercise(name)).read_text(encoding="utf-8")
    assert committed == make_notebook.render(notebook)


def test_grading_skips_the_check_cell_and_still_refuses_other_uses_of_grader():
    def graded(*codes):
        notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in codes])
        return notebook_to_script(nbformat.writes(notebook))

    for cell in (CHECK_CELL, 'import grader\ngrader.check("a.ipynb", exercise="multiclass")',
                 "# comment\nimport grader; grader.check(None)"):
        script = graded("x = 1", cell)
        assert f"# --- code cell 2 ---\n{GRADER_CHECK_SKIPPED}\n" in script
        assert "import grader" not in script and tampering(script) == ""
    for cell in ("import grader; grader.check(); import os", "import grader as g; g.check()",
                 "import grader; grader.checks.run_checks = None", "import grader",
                 "import grader; grader.check(model)"):
        assert not is_grader_check(cell)
        assert "`import grader`" in tampering(graded("x = 1", cell)), cell


# --- no notebook found -----------------------------------------------------------------------

def test_not_found_outside_any_kernel_names_the_explicit_call(tmp_path):
    result = subprocess.run([sys.executable, "-c", CHECK_CELL], cwd=tmp_path, text=True,
                            capture_output=True, env=kernel_env(tmp_path / "runtime"),
                            timeout=120)
    assert result.returncode == 1
    message = result.stderr.strip().splitlines()[-1]
    assert message.startswith("grader.notebook_check.CheckError: grader.check() could not find "
                              "which notebook this is (this Python is not a Jupyter kernel)")
    assert 'grader.check("path.ipynb")' in message
    with pytest.raises(CheckError, match="JPY_SESSION_NAME names .*gone.ipynb, which does not"):
        find_notebook(environ={"JPY_SESSION_NAME": str(tmp_path / "gone.ipynb")})


def test_session_name_and_vscode_variable_name_the_notebook(tmp_path):
    saved = write_notebook(tmp_path / "mine.ipynb", ["x = 1"])
    assert find_notebook(environ={"JPY_SESSION_NAME": str(saved)}) == saved

    class VSCodeShell:  # what VS Code's kernel has in the user's namespace
        user_ns = {"__vsc_ipynb_file__": str(saved)}

    assert find_notebook(VSCodeShell(), environ={}) == saved


def test_not_found_in_a_kernel_without_a_server_is_one_paragraph(tmp_path):
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(CHECK_CELL)])
    run_with_nbclient(notebook, tmp_path, tmp_path / "runtime", allow_errors=True)
    error, = [o for o in notebook.cells[0].outputs if o["output_type"] == "error"]
    assert error["ename"] == "CheckError"
    assert error["traceback"] == [
        "grader.check: grader.check() could not find which notebook this is (this kernel was "
        "not started by a Jupyter server). Save the notebook and name it, relative to this "
        'notebook\'s folder or in full: grader.check("path.ipynb") (for another exercise, '
        'grader.check("path.ipynb", exercise="NAME")). In a terminal, python -m grader '
        "path.ipynb grades it too."]


# --- the saved file is older than the cells run ------------------------------------------------

def test_stale_note_when_cells_ran_that_the_saved_file_does_not_hold(tmp_path):
    write_notebook(tmp_path / "edited.ipynb", ["x = 1", "y = 2"], counts=[1, 2])
    write_notebook(tmp_path / "unsaved.ipynb", ["x = 1", "y = 3"])
    write_notebook(tmp_path / "fresh.ipynb", ["x = 1", "y = 3", CHECK_CELL], counts=[1, 2, 3])
    note = ("from grader.notebook_check import stale_note\n"
            "from pathlib import Path\n"
            "for name in ('edited', 'unsaved', 'fresh'):\n"
            "    print(name, repr(stale_note(Path(name + '.ipynb'), get_ipython())))")
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in
                                               ("x = 1", "y = 3", CHECK_CELL, note)])
    run_with_nbclient(notebook, tmp_path, tmp_path / "runtime", allow_errors=True)
    lines = dict(line.split(" ", 1) for line in text_of(notebook.cells[3].outputs).splitlines())
    advice = "the grader grades the file as saved: save it (Ctrl+S) and run this cell again."
    assert lines["edited"] == repr(f"Note: edited.ipynb as saved does not hold the code of 1 "
                                   f"cell(s) you ran ([2]): {advice}")
    assert lines["unsaved"] == repr(f"Note: unsaved.ipynb was saved before the last cells you ran "
                                    f"(this kernel ran [2], the file's last saved cell is [0]): "
                                    f"{advice}")
    assert lines["fresh"] == "''"  # the check cell's own run (cell [3], an error here) is no code


# --- for real: a Jupyter server, and nbclient --------------------------------------------------

@dataclass
class Server:
    process: subprocess.Popen
    info: dict
    root: Path
    runtime: Path

    def api(self, method: str, path: str, body: dict | None = None):
        request = urllib.request.Request(
            self.info["url"].rstrip("/") + path, method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"token {self.info['token']}",
                     "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=120) as response:
            text = response.read()
        return json.loads(text) if text else None

    def run(self, kernel_id: str, code: str) -> list[dict]:
        """The outputs of ``code`` run in the kernel, through its connection file."""
        connection = self.runtime / f"kernel-{kernel_id}.json"  # where the server wrote it
        client = BlockingKernelClient(connection_file=str(connection))
        client.load_connection_file()
        client.start_channels(hb=False)  # readiness from kernel_info; no race on the first beat
        try:
            client.wait_for_ready(timeout=120)
            outputs = []

            def keep(message):
                kind = message["msg_type"]
                if kind in ("stream", "display_data", "execute_result", "error"):
                    outputs.append({"output_type": kind, **message["content"]})

            client.execute_interactive(code, timeout=KERNEL_TIMEOUT, output_hook=keep)
            return outputs
        finally:
            client.stop_channels()


@pytest.fixture(scope="module")
def jupyter_server(tmp_path_factory):
    """``jupyter server`` on a free localhost port, with a token, in a fresh root folder."""
    base = tmp_path_factory.mktemp("jupyter")
    root, runtime = base / "root", base / "runtime"
    root.mkdir()
    env = {**kernel_env(runtime), "JUPYTER_CONFIG_DIR": str(base / "config")}
    log = open(base / "server.log", "wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "jupyter_server", "--no-browser", "--allow-root", "--port=0",
         "--IdentityProvider.token=grader-test-token", f"--ServerApp.root_dir={root}"],
        env=env, cwd=base, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        info_file = runtime / f"jpserver-{process.pid}.json"
        deadline = time.monotonic() + 180
        while not info_file.is_file():
            assert process.poll() is None, (base / "server.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "jupyter server did not start in 180 s"
            time.sleep(0.5)
        time.sleep(0.5)  # the file is written whole, but give its writer a moment
        yield Server(process, json.loads(info_file.read_text()), root, runtime)
    finally:
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.mark.slow
def test_check_cell_in_a_jupyter_server_session_grades_the_saved_notebook(jupyter_server):
    server = jupyter_server
    write_notebook(server.root / "solution.ipynb", [*solution_cells(), CHECK_CELL])
    session = server.api("POST", "/api/sessions", {"path": "solution.ipynb", "type": "notebook",
                                                  "name": "solution.ipynb",
                                                  "kernel": {"name": "python3"}})
    kernel = session["kernel"]["id"]
    files, temps = sorted(os.listdir(server.root)), grader_temp_folders()

    outputs = server.run(kernel, CHECK_CELL)  # the notebook's last cell, as Jupyter runs it
    assert [o["output_type"] for o in outputs] == ["stream", "display_data", "execute_result"], \
        outputs
    assert text_of(outputs) == SCORE_LINE + "\n"  # no note: the kernel ran no other cell
    page = outputs[1]["data"]["text/html"]
    assert page.startswith('<div class="grader-report"><iframe srcdoc="&lt;!DOCTYPE html&gt;')
    assert "&lt;title&gt;Sentiment classifier: grader report, 100/100&lt;/title&gt;" in page
    assert outputs[2]["data"]["text/plain"].startswith("<grader report of ")
    returned = server.run(kernel, "from grader.core.report import Report\nr = _\n"
                                  "print(isinstance(r, Report), r.score, r.max_score, "
                                  "[c.id for c in r.checks if c.passed])")
    assert text_of(returned) == f"True 100.0 100.0 {list(CHECK_IDS)}\n"
    assert sorted(os.listdir(server.root)) == files  # nothing written for the student
    assert grader_temp_folders() <= temps  # its temporary folder is gone

    # a cell run and not saved: the note comes first, then the same grading
    server.run(kernel, "x = 1")
    outputs = server.run(kernel, CHECK_CELL)
    lines = text_of(outputs).splitlines()
    assert lines == ["Note: solution.ipynb as saved does not hold the code of 2 cell(s) you ran "
                     "([2], [3]): the grader grades the file as saved: save it (Ctrl+S) and run "
                     "this cell again.", SCORE_LINE]

    # renamed while the kernel runs: the server's session follows, JPY_SESSION_NAME does not
    server.api("PATCH", "/api/contents/solution.ipynb", {"path": "renamed.ipynb"})
    server.api("PATCH", f"/api/sessions/{session['id']}", {"path": "renamed.ipynb",
                                                           "name": "renamed.ipynb"})
    found = server.run(kernel, "import os\nfrom grader.notebook_check import find_notebook\n"
                               "print(find_notebook(get_ipython()))\n"
                               "print(os.environ['JPY_SESSION_NAME'])")
    assert text_of(found).splitlines() == [str(server.root / "renamed.ipynb"),
                                           str(server.root / "solution.ipynb")]
    server.api("DELETE", f"/api/sessions/{session['id']}")


@pytest.mark.slow
def test_nbclient_notebook_grades_an_explicit_path(tmp_path):
    write_notebook(tmp_path / "explicit.ipynb", solution_cells())
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in (
        'import grader\nreport = grader.check("explicit.ipynb")',
        "print(report.score, report.max_score, len(report.checks), report.passed)")])
    run_with_nbclient(notebook, tmp_path, tmp_path / "runtime")
    first, second = notebook.cells
    assert text_of(first.outputs) == "Grader: 100/100 for explicit.ipynb, every check passed.\n"
    html, = [o for o in first.outputs if o["output_type"] == "display_data"]
    assert "srcdoc=" in html["data"]["text/html"]
    assert text_of(second.outputs) == f"100.0 100.0 {len(CHECK_IDS)} True\n"
    assert {p.name for p in tmp_path.iterdir()} - {"runtime"} == {"explicit.ipynb"}


def test_report_read_back_is_the_clis_report_class():
    from grader.notebook_check import CheckedReport, _read_report

    assert _read_report(b"not json") is None
    assert _read_report(b'{"checks": "no list"}') is None
    assert _read_report(b'{"checks": [{"id": "runs"}]}') is None  # a check missing its fields
    report = _read_report(json.dumps({"submission": "s.ipynb", "score": 5, "max_score": 10,
                                      "checks": [{"id": "runs", "passed": True, "score": 5,
                                                  "max_score": 5, "message": "ran"}]}).encode())
    assert isinstance(report, CheckedReport) and isinstance(report, Report)
    assert repr(report) == "<grader report of s.ipynb: 5/10, 1/1 checks passed>"


def test_outside_ipython_the_report_is_printed_as_text(capsys):
    from grader.notebook_check import _show, score_line
    from grader.report import failure_report
    from grader.rubric import load_rubric

    report = failure_report("mine.ipynb", "the notebook could not be read", "save it again",
                            load_rubric())
    _show(report, "<html>never shown as text</html>", [score_line(report, "mine.ipynb")], None)
    printed = capsys.readouterr().out
    assert printed.startswith("Grader: 0/100 for mine.ipynb. Main reason: ")
    assert "the notebook could not be read" in printed and "<html>" not in printed
