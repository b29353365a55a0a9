"""Reading submissions: a notebook's cells become one script that runs like Jupyter's "Run All"."""

from __future__ import annotations

import json
import re
import subprocess
import sys

from hypothesis import given, settings, strategies as st

from grader.sources import describe_line, notebook_to_script, submission_noun


def _notebook(*cells: str) -> str:
    """Cells as strings; one starting with "md:" is a markdown cell."""
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
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
