"""Reading submissions: a notebook's cells become one script that runs like the notebook."""

from __future__ import annotations

import json
import subprocess
import sys

from grader.sources import notebook_to_script


def _notebook(*cells: str) -> str:
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
         "source": cell} for cell in cells]})


def test_a_cell_ending_in_a_bare_tuple_shows_the_tuple_like_jupyter():
    script = notebook_to_script(_notebook("a = (1, 2)\nb = [3]\nlen(a), len(b)", "'x' * 2"))
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["(2, 1)", "'xx'"]
