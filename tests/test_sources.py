"""Reading submissions: a notebook's cells become one script that runs like Jupyter's "Run All"."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from hypothesis import given, settings, strategies as st

from grader import sources
from grader.sources import (MAX_HEADING, SourceError, describe_line, notebook_to_script,
                            read_submission, submission_noun)


def _notebook(*cells: str, metadata: dict | None = None) -> str:
    """Cells as strings; one starting with "md:" is a markdown cell."""
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": metadata or {}, "cells": [
        {"cell_type": "markdown", "metadata": {}, "source": cell[3:]} if cell.startswith("md:")
        else {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
              "source": cell} for cell in cells]})


def _run(script: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60)


def test_each_cells_last_expression_is_displayed_as_jupyter_displays_it():
    script = notebook_to_script(_notebook(
        "%matplotlib inline\na = (1, 2)\nb = [3]\nlen(a), len(b)",  # a tuple
        "*a, 5",  # a starred expression
        "(1 +\n 2)  # spans lines",
        "display(4, 'x')",  # display() shows each value; its None result is not shown
        "a;",  # a trailing semicolon hides the value
        "%%time\nz = 7\nz",  # a Python cell magic: its body runs
        "!pip install seaborn\nz * 2",  # shell escapes never run
        "c = 1\nif c:\n    c",  # the last statement is not an expression: nothing shown
    ))
    result = _run(script)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["(2, 1)", "(1, 2, 5)", "3", "4", "'x'", "7", "14"]


def test_a_failing_line_is_named_by_the_heading_above_its_cell_and_its_line_in_the_cell():
    script = notebook_to_script(_notebook(
        "md:# Sentiment\n\n## **Step 1: Generate the data**", "x = 1", "md:some prose",
        "md:### Step 3: Build the model", "y = 2\nraise ValueError('boom')"))
    result = _run(script)
    failing = int(result.stderr.split(", line ")[-1].split(",")[0])
    assert describe_line(script, failing) == "line 2 of the cell under “Step 3: Build the model”"
    assert submission_noun(script) == "notebook" and submission_noun("x = 1\n") == "script"
    plain = notebook_to_script(_notebook("md:no heading here", "a = 1", "b = 2\nc = d"))
    assert describe_line(plain, plain.split("\n").index("c = d") + 1) == "line 2 of code cell 2"
    assert describe_line("a = 1\nb = c\n", 2) == "line 2"


_LINES = st.sampled_from([
    "x = 1", "x, x", "*[x], x", "(x +\n x)", "%matplotlib inline", "!ls -l", "x;", "print(x)",
    "def f():\n    return x", "model_summary = [x\n    for _ in range(2)]", "%time x = 2",
    "display(x)", "",
])


@settings(max_examples=25, deadline=None, derandomize=True)
@given(st.lists(st.lists(_LINES, max_size=6), min_size=1, max_size=5))
def test_every_line_of_every_cell_maps_back_to_its_cell_and_line(cells):
    """Unique comment lines mark places in the cells; each is named where the student wrote it."""
    sources = []
    for i, lines in enumerate(cells, 1):
        body = []
        for line in lines:
            body.append(f"# mark {i}.{len(body) + 1}")
            body.append(line)
        sources.append("\n".join(body))
    script = notebook_to_script(_notebook("x = 0", *sources))
    compile(script, "nb.py", "exec")
    lines = script.split("\n")
    for i, source in enumerate(sources, 1):
        for number, line in enumerate(source.split("\n"), 1):
            if line.startswith("# mark"):
                where = describe_line(script, lines.index(line) + 1)
                assert where == f"line {number} of code cell {i + 1}", (line, script)


def test_a_crashing_last_expression_is_quoted_as_the_student_wrote_it():
    from grader.sources import as_written

    script = notebook_to_script(_notebook("X_train.shape, X_test.shape", "(1,\n 2)[5]"))
    result = _run(script)
    assert "NameError" in result.stderr
    wrapped = next(line for line in script.split("\n") if "X_train.shape" in line)
    assert as_written(wrapped) == "X_train.shape, X_test.shape"
    first = next(line for line in script.split("\n") if line.endswith("(1,"))
    assert as_written(first) == "(1,"
    assert as_written("print(x)") == "print(x)"


def test_an_error_inside_a_magic_is_named_at_the_students_line(tmp_path):
    """The support code runs from its own file name: the deepest frame in the graded file is the
    student's line (as the probe reports it)."""
    script = notebook_to_script(_notebook("md:## Step 5: Train", "a = 1\n%time b = 1 / 0"))
    assert script.split("\n")[0].startswith("exec(compile(")  # the support code is one line
    path = tmp_path / "nb.py"
    path.write_text(script)
    result = subprocess.run([sys.executable, str(path)], capture_output=True, text=True,
                            timeout=60)
    assert "ZeroDivisionError" in result.stderr
    lines = [int(n) for n in re.findall(r'File ".*nb\.py", line (\d+)', result.stderr)]
    assert describe_line(script, lines[-1]) == "line 2 of the cell under “Step 5: Train”"


def _run_in_process(script: str) -> SyntaxError | None:
    """Run a notebook's script as the sandbox's probe does (its own file name, ``__main__``) and
    return the SyntaxError it raises, if any."""
    try:
        exec(compile(script, "nb.py", "exec", dont_inherit=True), {"__name__": "__main__"})
    except SyntaxError as exc:
        return exc
    return None


def test_a_cell_python_cannot_compile_stops_run_all_there_with_pythons_error(capsys):
    """As Jupyter's "Run All": the cells before it run, it raises Python's SyntaxError (its
    message alone, at its line in the cell, with the student's line), the cells after it do not
    run; the script as a whole compiles, so the grader's own compile does not stop it first."""
    script = notebook_to_script(_notebook(
        "print('before')", "md:## Step 6: Evaluate", "x = 1\nprint(f'{x:.4f}'",
        "print('after')", "def f(:\n    pass"))
    compile(script, "nb.py", "exec", dont_inherit=True)
    error = _run_in_process(script)
    assert capsys.readouterr().out == "before\n"
    assert type(error).__name__ == "SyntaxError" and str(error) == "'(' was never closed"
    assert error.filename == "nb.py" and error.text.strip() == "print(f'{x:.4f}'"
    assert describe_line(script, error.lineno) == "line 2 of the cell under “Step 6: Evaluate”"
    # Python gives no text for some errors: the student's line is shown all the same
    script = notebook_to_script(_notebook("md:## Step 2", "a = 1\n\nreturn a"))
    error = _run_in_process(script)
    assert str(error) == "'return' outside function" and error.text == "return a"
    assert describe_line(script, error.lineno) == "line 3 of the cell under “Step 2”"


_BROKEN = st.sampled_from(["x = (1,", "def f(:", "return x", "1 +", "%time x = (", "else:"])


@settings(max_examples=25, deadline=None, derandomize=True)
@given(st.lists(st.lists(_LINES, max_size=4), min_size=1, max_size=4), st.data())
def test_a_syntax_error_is_raised_from_the_cell_and_line_that_python_names(cells, data):
    """Whatever precedes it, a broken line ending a cell is reported at that cell and line, with
    the message Python gives for the cell alone (magics turned into Python, as IPython runs
    it); later broken cells are never reached."""
    broken_cell = data.draw(st.integers(0, len(cells) - 1))
    codes = ["\n".join(lines) for lines in cells]
    broken = data.draw(_BROKEN)
    codes[broken_cell] = "\n".join(filter(None, [codes[broken_cell], broken]))
    script = notebook_to_script(_notebook("x = 0", *codes, "print(("))
    error = _run_in_process(script)
    line = codes[broken_cell].count("\n") + 1
    assert describe_line(script, error.lineno) == f"line {line} of code cell {broken_cell + 2}"
    with pytest.raises(SyntaxError) as alone:
        compile(sources.cell_to_code(codes[broken_cell]), "<cell>", "exec")
    assert str(error) == alone.value.msg


@pytest.mark.parametrize("markdown, heading", [
    ("## **Step 3: Build the model**", "Step 3: Build the model"),
    ("Step 5: Train the model\n-----------------------\nWe train for 50 epochs.",
     "Step 5: Train the model"),
    ("Sentiment\n=========\n\nSome prose.\n\n---\n\nMore prose.", "Sentiment"),
    ("<h2>Step 6: Evaluate 🎯</h2>\n\nSome **notes** here.", "Step 6: Evaluate 🎯"),
    ('<H3 class="step"\n id="s4">Step 4: <b>Compile</b> &amp; check</H3>',
     "Step 4: Compile & check"),
    ("# Title\n<h4>Step 1</h4>\n\nStep 2\n===", "Step 2"),  # the last one, in any spelling
    ("| a | b |\n|---|---|\n| 1 | 2 |", ""),  # a table is no heading
])
def test_setext_and_html_headings_name_the_cells_below_them(markdown, heading):
    script = notebook_to_script(_notebook("md:" + markdown, "a = 1\nb = c"))
    expected = (f"line 2 of the cell under “{heading}”" if heading else "line 2 of code cell 1")
    assert describe_line(script, script.split("\n").index("b = c") + 1) == expected


_MARKUP = st.sampled_from(["## ", "<h2 id='a'>", "</h2>", "<h6>", "</h6>", "\n", "\r", "===",
                           "---", "&#7;", "&#x202e;", "&#10;", "\x1b[31m", "\u2028", "**", "`",
                           " ", "Step 1"])


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.lists(_MARKUP | st.text(max_size=80), max_size=30))
def test_a_heading_is_always_one_inert_capped_line(parts):
    heading = sources._heading("".join(parts))
    assert len(heading) <= MAX_HEADING and heading == heading.strip()
    assert all(c.isprintable() for c in heading)


@pytest.mark.parametrize("metadata, language", [
    ({"kernelspec": {"name": "ir", "display_name": "R", "language": "R"},
      "language_info": {"name": "R"}}, "R"),
    ({"kernelspec": {"name": "julia-1.10", "language": "julia"}}, "julia"),
])
def test_a_notebook_for_another_language_is_refused_by_name(metadata, language):
    with pytest.raises(SourceError, match=f"notebook for {language}, not Python"):
        notebook_to_script(_notebook("x <- 1", metadata=metadata))
    python = {"kernelspec": {"name": "my-env", "language": "python"},
              "language_info": {"name": "python", "version": "3.11"}}
    assert "x = 1" in notebook_to_script(_notebook("x = 1", metadata=python))


@pytest.mark.parametrize("cells", [(), ("md:# Sentiment", "md:x = 1  # code in markdown")])
def test_a_notebook_without_code_cells_says_so(cells):
    with pytest.raises(SourceError, match="has no code cells"):
        notebook_to_script(_notebook(*cells))


def _with_outputs(megabytes: float) -> str:
    """A valid notebook whose one code cell stores ``megabytes`` of (image) output."""
    notebook = json.loads(_notebook("md:## Step 1", "x = 1"))
    notebook["cells"][1]["outputs"] = [{"output_type": "display_data", "metadata": {},
                                        "data": {"image/png": "A" * int(megabytes * 2**20)}}]
    return json.dumps(notebook)


def test_stored_outputs_do_not_count_against_the_size_limit_code_does(tmp_path, monkeypatch):
    path = tmp_path / "big.ipynb"
    path.write_text(_with_outputs(3))  # more than the 2 MB a script may have
    submission = read_submission(path)
    assert submission.script_name == "big.py" and "x = 1" in submission.source
    monkeypatch.setattr(sources, "MAX_NOTEBOOK_BYTES", 2**20)
    with pytest.raises(SourceError, match=r"big\.ipynb is 3 MB.*clear its outputs"):
        read_submission(path)
    monkeypatch.setattr(sources, "MAX_BYTES", 1024)
    path.write_text(_notebook("data = " + repr(list(range(1000)))))
    with pytest.raises(SourceError, match=r"code cells of big\.ipynb hold \d+ KB of code"):
        read_submission(path)


def test_files_that_cannot_be_read_say_what_is_wrong_and_what_to_do(tmp_path):
    """Not a SyntaxError, no "fix the syntax": the runs check passes on the reader's words."""
    from grader.checks import run_checks
    from grader.observation import ErrorInfo, Observation
    from grader.rubric import load_rubric

    renamed, latin1, cut = tmp_path / "a.ipynb", tmp_path / "b.ipynb", tmp_path / "c.ipynb"
    renamed.write_text("import keras\nmodel = keras.Sequential()\n")
    latin1.write_bytes(_notebook("# café").replace("\\u00e9", "é").encode("latin-1"))
    cut.write_text(_notebook("x = 1")[:40])
    expected = {renamed: "not a notebook.*if it is a Python script, name it .py",
                latin1: "not UTF-8 text.*save it with the UTF-8 encoding",
                cut: "not valid .ipynb JSON.*open it in Jupyter, save it"}
    rubric = load_rubric()
    for path, words in expected.items():
        with pytest.raises(SourceError, match=words) as raised:
            read_submission(path)
        # as the pipeline hands a SourceError to the checks
        error = ErrorInfo("UnreadableFile", str(raised.value), None, "", "syntax")
        results = run_checks(Observation(status="error", error=error), None, rubric)
        runs, data = results[0], results[1]
        assert runs.id == "runs" and str(raised.value) in runs.message, runs.message
        for text in (runs.message, runs.hint, data.message):
            assert "SyntaxError" not in text and "syntax" not in text, text
