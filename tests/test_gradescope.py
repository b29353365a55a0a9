"""The Gradescope autograder, for real: build the zip, unpack it into a folder laid out like
``/autograder``, run its ``run_autograder`` (with this venv's Python instead of setup.sh's
installs) under Gradescope's default memory and CPU (a cgroup v1 child: 768 MB, half a CPU), and
validate ``results.json`` against Gradescope's documented fields.

``Limited`` is shared with ``benchmarks/bench_gradescope.py``, which measures the figures written
into the package's README.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import pytest

from grader.integrations import gradescope_autograder as autograder
from sentiment_exercise import BONUS_IDS
from sentiment_exercise import CHECK_IDS
from grader.reporters import gradescope
from grader.rubric import load_rubric
from real_reports import report as real_report
from test_corpus import CORPUS, parse_case

ROOT = Path(__file__).resolve().parent.parent
SOLUTION = ROOT / "solution" / "sentiment_classifier.py"
FAILING = CORPUS / "fail_hidden_layers_two.py"
VISIBILITIES = {"hidden", "after_due_date", "after_published", "visible"}
OUTPUT_FORMATS = {"text", "html", "simple_format", "md", "ansi"}


# --- Gradescope's documented results.json -----------------------------------------------------

def results_problems(data: dict) -> list[str]:
    """What in ``data`` is not Gradescope's results.json format (the documented fields and types:
    https://gradescope-autograders.readthedocs.io/en/latest/specs/)."""
    top = {"score", "execution_time", "output", "output_format", "test_output_format",
           "test_name_format", "visibility", "stdout_visibility", "extra_data", "tests",
           "leaderboard"}
    each = {"score", "max_score", "status", "name", "name_format", "number", "output",
            "output_format", "tags", "visibility", "extra_data"}
    problems = [f"unknown top-level key {k}" for k in data if k not in top]
    number = (int, float)
    if not isinstance(data.get("score"), number) and not all(
            isinstance(t.get("score"), number) for t in data.get("tests", [])):
        problems.append("score: required at the top or on every test")
    checks = {"score": number, "execution_time": number, "output": str, "extra_data": dict,
              "tests": list, "leaderboard": list}
    problems += [f"{k} must be {t}" for k, t in checks.items()
                 if k in data and not isinstance(data[k], t) or isinstance(data.get(k), bool)]
    for key in ("visibility", "stdout_visibility"):
        if key in data and data[key] not in VISIBILITIES:
            problems.append(f"{key}={data[key]!r}")
    if data.get("output_format", "text") not in OUTPUT_FORMATS:
        problems.append(f"output_format={data['output_format']!r}")
    for i, test in enumerate(data.get("tests", [])):
        problems += [f"tests[{i}]: unknown key {k}" for k in test if k not in each]
        for key, kind in (("score", number), ("max_score", number), ("name", str),
                          ("number", str), ("output", str), ("tags", list)):
            if key in test and (not isinstance(test[key], kind) or isinstance(test[key], bool)):
                problems.append(f"tests[{i}].{key} must be {kind}")
        if test.get("status", "passed") not in ("passed", "failed"):
            problems.append(f"tests[{i}].status={test['status']!r}")
        if test.get("visibility", "visible") not in VISIBILITIES:
            problems.append(f"tests[{i}].visibility={test['visibility']!r}")
        if test.get("output_format", "text") not in OUTPUT_FORMATS:
            problems.append(f"tests[{i}].output_format={test['output_format']!r}")
        if not all(isinstance(tag, str) for tag in test.get("tags", [])):
            problems.append(f"tests[{i}].tags must be strings")
    for i, entry in enumerate(data.get("leaderboard", [])):
        if set(entry) - {"name", "value", "order"} or "name" not in entry or "value" not in entry:
            problems.append(f"leaderboard[{i}] must have name, value (and order)")
    return problems


def test_the_validator_catches_what_gradescope_would_refuse():
    assert results_problems({"score": 1, "tests": []}) == []
    assert results_problems({"tests": [{"name": "x"}]})  # no score anywhere
    assert results_problems({"score": 1, "visibility": "sometimes"})
    assert results_problems({"score": 1, "tests": [{"score": 1, "status": "ok"}]})
    assert results_problems({"score": 1, "tests": [{"score": 1, "number": 1}]})
    assert results_problems({"score": 1, "grade": 3})


# --- results.json from real reports: no TensorFlow ---------------------------------------------

def test_results_have_one_test_per_check_and_are_valid():
    report = real_report("carol.py", crash=("NameError", 27)).to_dict()
    data = gradescope.results(report, execution_time=61.4)
    assert results_problems(data) == []
    assert [t["name"] for t in data["tests"]] == \
        list(CHECK_IDS) + [f"Bonus: {b}" for b in BONUS_IDS]
    assert data["score"] == report["score"] == 85 and data["execution_time"] == 61
    runs = data["tests"][0]
    assert runs["status"] == "failed" and runs["score"] == 0 and runs["max_score"] == 5
    assert "Hint: fix that line" in runs["output"]
    assert data["output"].startswith("Score: 85/100. Main reason: crashed at line 27 (NameError).")
    assert {t["visibility"] for t in data["tests"]} == {"visible"}


def test_hints_can_be_held_until_grades_are_published():
    report = real_report("bob.py", layers="no_dropout").to_dict()
    data = gradescope.results(report, visibility="visible", hints="after_published")
    assert results_problems(data) == []
    dropout = next(t for t in data["tests"] if t["name"] == "dropout")
    assert dropout["visibility"] == "visible" and "found no Dropout layer" in dropout["output"]
    assert "Hint" not in dropout["output"] and "Dropout(0.3)" not in dropout["output"]
    held = data["tests"][-1]
    assert held["name"] == gradescope.HINTS_TEST and held["visibility"] == "after_published"
    assert held["max_score"] == 0 and "dropout: add Dropout(0.3)" in held["output"]
    assert sum(t["score"] for t in data["tests"]) == data["score"] == 90
    with pytest.raises(ValueError, match="visibility"):
        gradescope.results(report, visibility="later")


# --- the package ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def package(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("package") / "autograder.zip"
    assert autograder.main([str(out), "--hints", "after_published"]) == 0
    return out


def test_package_holds_setup_run_autograder_rubric_and_the_pinned_grader(package):
    with zipfile.ZipFile(package) as archive:
        names = set(archive.namelist())
        modes = {i.filename: i.external_attr >> 16 for i in archive.infolist()}
        read = lambda name: archive.read(name).decode()  # noqa: E731
        assert {"setup.sh", "run_autograder", "rubric.toml", "settings.json", "requirements.txt",
                "README.md", "sentiment-grader/grader/pipeline.py",
                "sentiment-grader/grader/sandbox/probe.py",
                "sentiment-grader/exercises/sentiment/rubric.toml", "sentiment-grader/pyproject.toml"} <= names
        assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
        assert modes["setup.sh"] & stat.S_IXUSR and modes["run_autograder"] & stat.S_IXUSR
        assert read("rubric.toml").encode() == load_rubric().source
        settings = json.loads(read("settings.json"))
        assert settings["visibility"] == "visible" and settings["hints"] == "after_published"
        assert settings["python"] == f"{sys.version_info.major}.{sys.version_info.minor}"
        from importlib import metadata

        pins = read("requirements.txt").split()
        assert f"tensorflow=={metadata.version('tensorflow')}" in pins
        assert f"keras=={metadata.version('keras')}" in pins
        readme = read("README.md")
        assert "768 MB" in readme and "Set the assignment's total points to 100" in readme
        for script in ("setup.sh", "run_autograder"):
            text = read(script)
            assert text.startswith("#!/usr/bin/env bash\n")
            subprocess.run(["bash", "-n"], input=text, text=True, check=True)  # valid bash
        assert "Set Gradescope's autograder timeout to 11 minutes" in readme  # 300 + 300 + 60 s


def test_requirements_hold_every_dependency_of_the_grader(package):
    """setup.sh installs requirements.txt and nothing else: a dependency missing from it is an
    ImportError on a fresh Gradescope image (psutil, nbformat)."""
    from importlib import metadata

    with zipfile.ZipFile(package) as archive:
        lines = archive.read("requirements.txt").decode().splitlines()
    pinned = {autograder._NAME.match(line).group(1).lower().replace("_", "-") for line in lines}
    needed = [r for r in metadata.requires(autograder.DISTRIBUTION) or []
              if "extra" not in r.partition(";")[2]]  # not [test], [batch], [nbgrader]
    names = {autograder._NAME.match(r).group(1).lower().replace("_", "-") for r in needed}
    assert {"tensorflow", "psutil", "nbformat", "ipython", "matplotlib"} <= names
    assert names - pinned == set(), f"missing from requirements.txt: {sorted(names - pinned)}"
    for line in lines:  # installed here: this machine's exact version
        name = autograder._NAME.match(line).group(1)
        try:
            assert line.startswith(f"{name}=={metadata.version(name)}"), line
        except metadata.PackageNotFoundError:
            assert ";" in line, f"{line}: needed here, but not installed"


@pytest.mark.parametrize("argv, message", [
    (["out.tar"], "expected a .zip"),
    (["out.zip", "--hints", "soon"], "invalid choice"),
    (["out.zip", "--timeout", "0"], "--timeout must be positive"),
])
def test_package_usage_errors_exit_2(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    try:
        code = autograder.main(argv)
    except SystemExit as exit_:  # argparse's own errors
        code = exit_.code
    assert code == 2 and message in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def unpack(package: Path, root: Path, *submissions: Path) -> Path:
    """A folder laid out like Gradescope's /autograder: source/ (the zip), submission/, results/."""
    for folder in ("source", "submission", "results"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(package) as archive:
        for info in archive.infolist():
            path = Path(archive.extract(info, root / "source"))
            path.chmod(info.external_attr >> 16 & 0o777)
    for submission in submissions:
        shutil.copy(submission, root / "submission" / submission.name)
    return root


def test_nothing_to_grade_is_a_proper_result_with_score_0(package, tmp_path, capsys):
    root = unpack(package, tmp_path / "autograder")
    (root / "submission" / "notes.txt").write_text("I could not finish")
    data = autograder.run(root)
    assert json.loads((root / "results" / "results.json").read_text()) == data
    assert results_problems(data) == [] and data["score"] == 0
    assert "no .py or .ipynb file was uploaded" in data["tests"][0]["output"]
    assert "not graded" in data["output"]


def test_a_broken_package_still_writes_results(tmp_path):
    root = tmp_path / "autograder"
    (root / "source").mkdir(parents=True)
    data = autograder.run(root)
    assert data["score"] == 0 and "package is broken" in data["output"]
    assert results_problems(data) == []


# --- run_autograder under Gradescope's default memory and CPU ----------------------------------

class Limited:
    """A cgroup v1 child of this process's own memory and cpu cgroups: a memory limit and a CPU
    quota for the processes started in it, and their peak memory (``memory.max_usage_in_bytes``:
    everything the cgroup was charged, page cache included, as Docker's limit counts it)."""

    def __init__(self, name: str, memory_mb: int, cpus: float):
        self.memory = self._child("memory", name)
        self.cpu = self._child("cpu", name)
        (self.memory / "memory.limit_in_bytes").write_text(str(memory_mb * 2**20))
        (self.cpu / "cpu.cfs_period_us").write_text("100000")
        (self.cpu / "cpu.cfs_quota_us").write_text(str(int(cpus * 100000)))

    @staticmethod
    def unavailable() -> str | None:
        """Why no cgroup can be made here (None: it can)."""
        try:
            for controller in ("memory", "cpu"):
                probe = Limited._child(controller, f"grader-probe-{os.getpid()}")
                probe.rmdir()
        except OSError as exc:
            return f"no writable cgroup v1 memory and cpu controllers: {exc}"
        return None

    @staticmethod
    def _child(controller: str, name: str) -> Path:
        own = next(line.split(":", 2)[2] for line in
                   Path("/proc/self/cgroup").read_text().splitlines()
                   if controller in line.split(":", 2)[1].split(","))
        path = Path("/sys/fs/cgroup") / controller / own.lstrip("/") / name
        path.mkdir(exist_ok=True)
        return path

    def set_cpus(self, cpus: float | None) -> None:
        """Another CPU quota (None: no quota) for the runs that follow."""
        quota = "-1" if cpus is None else str(int(cpus * 100000))
        (self.cpu / "cpu.cfs_quota_us").write_text(quota)

    def enter(self) -> None:
        """Move the calling process into the cgroups (a ``preexec_fn``)."""
        for path in (self.memory, self.cpu):
            (path / "cgroup.procs").write_text(str(os.getpid()))

    def run(self, command: list[str], env: dict, timeout: float) -> tuple[subprocess.CompletedProcess, dict]:
        (self.memory / "memory.max_usage_in_bytes").write_text("0")
        peak_rss = [0]
        done = threading.Event()

        def watch():  # anonymous memory (not page cache), polled
            while not done.wait(0.2):
                stats = dict(line.split() for line in
                             (self.memory / "memory.stat").read_text().splitlines())
                peak_rss[0] = max(peak_rss[0], int(stats.get("total_rss", 0)))

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        started = time.monotonic()
        try:
            result = subprocess.run(command, env=env, preexec_fn=self.enter, capture_output=True,
                                    text=True, timeout=timeout)
        finally:
            done.set()
            watcher.join()
        control = dict(line.split() for line in
                       (self.memory / "memory.oom_control").read_text().splitlines())
        figures = {"seconds": time.monotonic() - started,
                   "peak_mb": int((self.memory / "memory.max_usage_in_bytes").read_text()) / 2**20,
                   "peak_rss_mb": peak_rss[0] / 2**20,
                   "oom_kills": int(control.get("oom_kill", 0))}
        return result, figures

    def close(self) -> None:
        for path in (self.memory, self.cpu):
            try:
                path.rmdir()
            except OSError:
                pass


def run_autograder(root: Path, limited: Limited | None = None,
                   timeout: float = 40 * 60) -> tuple[subprocess.CompletedProcess, dict, dict]:
    """Run the unpacked ``run_autograder`` as Gradescope would, with this venv's Python."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "GRADER_CACHE_DIR")}
    env.update(AUTOGRADER_ROOT=str(root), GRADER_PYTHON=sys.executable)
    command = [str(root / "source" / "run_autograder")]
    if limited is None:
        started = time.monotonic()
        result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)
        figures = {"seconds": time.monotonic() - started}
    else:
        result, figures = limited.run(command, env, timeout)
    data = json.loads((root / "results" / "results.json").read_text())
    return result, data, figures


@pytest.fixture(scope="module")
def limited():
    reason = Limited.unavailable()
    if reason:
        pytest.skip(reason)
    cgroup = Limited(f"gradescope-test-{os.getpid()}", autograder.GRADESCOPE_MEMORY_MB,
                     autograder.GRADESCOPE_CPUS)
    yield cgroup
    cgroup.close()


@pytest.mark.parametrize("submission", [SOLUTION, FAILING], ids=["solution", "failing"])
def test_run_autograder_under_768_mb_and_half_a_cpu(package, tmp_path, limited, submission):
    # The solution runs on half a CPU, as on Gradescope; the failing file, to keep the suite
    # short, under the memory limit alone (benchmarks/bench_gradescope.py times both at 0.5).
    limited.set_cpus(autograder.GRADESCOPE_CPUS if submission == SOLUTION else None)
    root = unpack(package, tmp_path / "autograder", submission)
    result, data, figures = run_autograder(root, limited)
    print(f"{submission.name}: {figures}")
    assert result.returncode == 0, result.stderr[-3000:]
    assert results_problems(data) == []
    assert [t["name"] for t in data["tests"][:len(CHECK_IDS)]] == list(CHECK_IDS)
    failed = {t["name"] for t in data["tests"][:len(CHECK_IDS)] if t["status"] == "failed"}
    rubric = load_rubric()
    if submission == SOLUTION:
        assert failed == set() and data["score"] == rubric.max_score, data["output"]
        assert len(data["tests"]) == len(CHECK_IDS) + len(BONUS_IDS)  # no hints to hold
    else:
        assert failed == parse_case(submission).expected_failures, data["output"]
        assert data["score"] == rubric.max_score - sum(rubric.points[c] for c in failed)
        assert data["tests"][-1]["visibility"] == "after_published"
    assert figures["oom_kills"] == 0 and figures["peak_mb"] < autograder.GRADESCOPE_MEMORY_MB
    assert figures["seconds"] < autograder.GRADESCOPE_TIMEOUT_MINUTES * 60
    assert "Score: " in result.stdout  # the report, for the instructor's stdout view
