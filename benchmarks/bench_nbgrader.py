"""Wall time per student: ``nbgrader autograde`` versus ``python -m grader`` on the same notebooks.

Usage: python benchmarks/bench_nbgrader.py [--keep DIR]

Builds a temporary copy of the course, releases the assignment, submits the students of
``tests/test_nbgrader.py`` (the solution, the untouched release, softmax output, no Dropout with
cheats, two hidden layers with a slow noisy cell), then times, each with its own empty retrain
cache: one ``python -m grader`` process per student as a student runs it (served by the grading
daemon that an earlier grading started), and one ``nbgrader autograde`` for the class (its
sandboxes forked from one warm fork server). Target: autograding costs at most 1.2x the CLI per
student.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENT, NOTEBOOK = "sentiment", "sentiment_classifier"


def _test_module():
    spec = importlib.util.spec_from_file_location("test_nbgrader", ROOT / "tests" / "test_nbgrader.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(command: list[str], cwd: Path, cache: Path) -> float:
    started = time.perf_counter()
    # nbgrader runs `alembic` from PATH: the venv's scripts, even when it is not activated
    env = {**os.environ, "GRADER_CACHE_DIR": str(cache),
           "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")}
    result = subprocess.run(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True, env=env)
    seconds = time.perf_counter() - started
    if result.returncode not in (0, 1):  # 1: the grader's "some check failed"
        sys.exit(f"{' '.join(command)} failed ({result.returncode}):\n{result.stderr[-2000:]}")
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="build the course here and keep it")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-nbgrader-"))
    course = work / "course"
    shutil.rmtree(course, ignore_errors=True)
    shutil.copytree(ROOT / "nbgrader", course, ignore=shutil.ignore_patterns(
        *(ROOT / "nbgrader" / ".gitignore").read_text().split()))
    nbgrader = [sys.executable, "-m", "nbgrader"]
    run([*nbgrader, "generate_assignment", ASSIGNMENT], course, work / "unused-cache")
    release = nbformat.read(str(course / "release" / ASSIGNMENT / f"{NOTEBOOK}.ipynb"), as_version=4)
    students = _test_module().submissions(release, work / "sentinel")
    paths = {}
    for student, (notebook, _) in students.items():
        folder = course / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        paths[student] = folder / f"{NOTEBOOK}.ipynb"
        nbformat.write(notebook, str(paths[student]))

    cli_cache, autograde_cache = work / "cache-cli", work / "cache-autograde"
    for cache in (cli_cache, autograde_cache):
        shutil.rmtree(cache, ignore_errors=True)
    # The CLI as a student runs it: its grading daemon (grader/integrations/daemon.py) started by an earlier
    # grading, each student's retrain not cached.
    daemon_home = work / "daemon-home"
    grader = [sys.executable, "-m", "grader", "--format", "json", "--cache-dir", str(cli_cache)]
    first = run([*grader, "--no-cache", str(next(iter(paths.values())))], ROOT, daemon_home)
    cli = {student: run([*grader, str(path)], ROOT, daemon_home) for student, path in paths.items()}
    run([sys.executable, "-m", "grader", "daemon", "stop"], ROOT, daemon_home)
    autograde = run([*nbgrader, "autograde", ASSIGNMENT], course, autograde_cache)

    n = len(students)
    cli_each = sum(cli.values()) / n
    print(f"cores: {os.cpu_count()}  students: {n}  (each mode with its own empty retrain cache)")
    for student, seconds in cli.items():
        print(f"  python -m grader  {student:<12} {seconds:6.1f} s")
    print(f"CLI, one process per student:  {sum(cli.values()):6.1f} s total, {cli_each:5.1f} s per student")
    print(f"nbgrader autograde, one run:   {autograde:6.1f} s total, {autograde / n:5.1f} s per student")
    print(f"(the first CLI grading, which started the daemon: {first:.1f} s)")
    print(f"ratio autograde / CLI per student: {autograde / n / cli_each:.2f}  (target <= 1.2)")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
