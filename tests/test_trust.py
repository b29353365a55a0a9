"""The trust boundary, attacked the way a hostile student would (``tests/trust/``, one file each).

Every file starts with ``# expect-fail: <ids>``, may carry ``# grade-options: ...`` and says
``# tampered: yes|no``. Each is graded end to end (real sandbox, real retrain); the test asserts
the exact failed checks, the tamper flag, and what a checklist cannot show: nothing secret planted
outside the sandbox reaches any output, every output is free of control characters, and the limit
that stopped a run is the one named.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import pytest

from test_corpus import assert_verdicts, grade_file, parse_case, shared_cache_dir

ROOT = Path(__file__).resolve().parent.parent
TRUST = Path(__file__).resolve().parent / "trust"
TRUST_FILES = sorted(TRUST.glob("*.py"))
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")



def tampered_header(path: Path) -> bool:
    for line in path.read_text().splitlines()[:3]:
        if line.startswith("# tampered:"):
            return line.split(":", 1)[1].strip() == "yes"
    raise ValueError(f"{path.name}: no '# tampered:' header line")


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory) -> Path:
    return shared_cache_dir(tmp_path_factory)


@pytest.fixture(scope="session")
def secrets():
    """World-readable secrets where a grader keeps things: a course folder with another
    student's file, written reports and a source notebook, and the grading user's home."""
    tag = uuid.uuid4().hex[:10]
    course = Path(tempfile.mkdtemp(prefix="trust-course-"))
    os.chmod(course, 0o755)
    values = {name: f"SECRET-{name}-{tag}" for name in ("neighbour", "report", "source", "home")}
    (course / "bob.py").write_text(f"# {values['neighbour']}\n")
    (course / "reports").mkdir()
    (course / "reports" / "carol.json").write_text(json.dumps({"note": values["report"]}))
    (course / "source").mkdir()
    (course / "source" / "sentiment.ipynb").write_text(values["source"])
    home_file = Path.home() / f".grader-trust-{tag}"
    home_file.write_text(values["home"])
    for path in (course / "bob.py", course / "reports" / "carol.json", home_file):
        os.chmod(path, 0o644)
    paths = [str(course / "bob.py"), str(course / "reports" / "carol.json"),
             str(course / "reports"), str(course / "source" / "sentiment.ipynb"), str(home_file),
             str(Path.home() / ".ssh"), str(Path.home() / ".bash_history"), "/tmp",
             str(ROOT / "solution" / "sentiment_classifier.py"), str(ROOT / "nbgrader" / "source"),
             str(ROOT)]
    yield {"course": course, "values": values, "paths": paths}
    shutil.rmtree(course, ignore_errors=True)
    home_file.unlink(missing_ok=True)


def submission(path: Path, secrets: dict) -> Path:
    """The file as a student hands it in, inside the course folder (beside another student's)."""
    target = secrets["course"] / path.name
    target.write_text(path.read_text().replace("__PATHS__", json.dumps(secrets["paths"])))
    return target


def outputs(report) -> str:
    """Everything the grader shows for one report: terminal, JSON (and so CSV/Gradescope/nbgrader)."""
    from grader.reporters.terminal import render

    return render(report) + "\n" + json.dumps(report.to_dict(), ensure_ascii=False)


def graded(path: Path, secrets: dict, cache_dir: Path, warm: bool = True):
    case = parse_case(path)
    return case, grade_file(submission(path, secrets), cache_dir, timeout=case.timeout,
                            memory_mb=case.memory_mb, warm=warm).report


def test_the_trust_corpus_covers_the_attacks():
    assert len(TRUST_FILES) >= 20
    assert sum(tampered_header(p) for p in TRUST_FILES) >= 8


@pytest.mark.parametrize("path", TRUST_FILES, ids=[p.stem for p in TRUST_FILES])
def test_trust_file(path: Path, secrets: dict, cache_dir: Path):
    case, report = graded(path, secrets, cache_dir)
    assert_verdicts(case, report)
    assert bool(report.tampered) == tampered_header(path), report.tampered
    assert report.to_dict()["tampered"] is tampered_header(path)
    if report.tampered:
        assert report.score <= report.checks[0].max_score  # at most `runs`
    shown = outputs(report)
    assert not CONTROL.search(shown), repr(CONTROL.search(shown))
    for value in secrets["values"].values():
        assert value not in shown
    assert len(shown) < 40_000


def test_reads_outside_the_sandbox_are_denied_cold(secrets, cache_dir):
    """The same attempt graded as `python -m grader FILE` does (a fresh interpreter)."""
    _, report = graded(TRUST / "read_outside.py", secrets, cache_dir, warm=False)
    runs = next(c for c in report.checks if c.id == "runs")
    assert "nothing outside the sandbox could be read" in runs.message, runs.message
    shown = outputs(report)
    for value in secrets["values"].values():
        assert value not in shown


def _sandbox_stdout(path: Path, secrets: dict, **limits) -> tuple[str, object]:
    """Run one file in a sandbox forked from the session's warm fork server; its output."""
    from grader.sandbox import Limits
    from test_corpus import _warm

    source = submission(path, secrets).read_bytes()
    run = _warm()["lane"].runner()(path.name, source, limits=Limits(timeout_seconds=120, **limits))
    return run.stdout, run


def test_the_sandbox_sees_only_its_own_processes(secrets):
    stdout, run = _sandbox_stdout(TRUST / "read_host_proc.py", secrets)
    count = int(re.search(r"PROCESSES (\d+)", stdout).group(1))
    assert 1 <= count <= 4, stdout  # its supervisor (PID 1), itself, perhaps a helper
    assert "pytest" not in stdout and "grader-retrain" not in stdout


def test_every_read_outside_is_denied(secrets):
    stdout, _ = _sandbox_stdout(TRUST / "read_outside.py", secrets)
    assert "READ " not in stdout, stdout
    assert stdout.count("denied ") == len(secrets["paths"]), stdout
    for path in secrets["paths"]:
        if os.path.exists(path):  # it exists, yet the sandbox cannot even tell
            assert re.search(rf"denied {re.escape(path)} (PermissionError|FileNotFoundError)",
                             stdout), stdout


def test_memory_in_memfds_counts(secrets, cache_dir):
    _, report = graded(TRUST / "memfd_hog.py", secrets, cache_dir)
    runs = next(c for c in report.checks if c.id == "runs")
    assert "memory" in runs.message


def test_process_limit_stops_a_swarm(secrets, cache_dir):
    _, report = graded(TRUST / "many_processes.py", secrets, cache_dir)
    runs = next(c for c in report.checks if c.id == "runs")
    assert "processes" in runs.message


def test_disk_limit_caps_the_working_directory(secrets):
    stdout, _ = _sandbox_stdout(TRUST / "disk_fill.py", secrets, disk_mb=128)
    written = int(re.search(r"WROTE_MIB (\d+)", stdout).group(1))
    assert written <= 128, stdout


def test_refusals_name_what_was_refused(secrets, cache_dir):
    _, constant = graded(TRUST / "constant_initializer.py", secrets, cache_dir)
    assert "starting weights" in next(c for c in constant.checks if c.id == "accuracy").message
    _, embedding = graded(TRUST / "embedding_huge.py", secrets, cache_dir)
    assert "Embedding" in next(c for c in embedding.checks if c.id == "accuracy").message


def test_grading_leaves_nothing_in_the_temp_directory(tmp_path):
    """No autograph files, work directories or retrain folders outlive `python -m grader`."""
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = {**os.environ, "TMPDIR": str(temp), "GRADER_CACHE_DIR": str(tmp_path / "cache")}
    done = subprocess.run([sys.executable, "-m", "grader", "--no-cache",
                           str(ROOT / "solution" / "sentiment_classifier.py")],
                          env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert sorted(os.listdir(temp)) == []


def test_a_retrain_over_its_memory_limit_is_a_clean_failed_check(tmp_path):
    """The retrain worker's own limit (train_memory_mb) is enforced; the report says why."""
    from grader.core.options import GradeOptions
    from grader.rubric import load_rubric
    from test_corpus import _warm

    text = (ROOT / "exercises" / "sentiment" / "rubric.toml").read_text()
    strict = tmp_path / "strict.toml"
    strict.write_text(re.sub(r"(?m)^train_memory_mb = \d+", "train_memory_mb = 200", text))
    report = _warm()["lane"].grade(ROOT / "solution" / "sentiment_classifier.py",
                                   GradeOptions(use_cache=False, rubric_path=strict),
                                   load_rubric(strict))
    accuracy = next(c for c in report.checks if c.id == "accuracy")
    assert not accuracy.passed
    assert "200 MB" in accuracy.message, accuracy.message
    assert [c.id for c in report.checks if not c.passed] == ["loss_decreases", "accuracy"]


@pytest.mark.parametrize("name, status", [("memfd_hog.py", "memory"),
                                          ("many_processes.py", "processes")])
def test_limits_hold_without_a_cgroup_too(name, status, secrets, monkeypatch):
    """Where no cgroup can be made, the supervisor's own measurements stop the same runs."""
    monkeypatch.setenv("GRADER_NO_CGROUP", "1")
    _, run = _sandbox_stdout(TRUST / name, secrets, memory_mb=1500)
    assert run.limits_enforced_by == "polling"
    assert run.status == status, (run.status, run.stdout[-500:])


@pytest.mark.parametrize("name, reason", [
    ("rewrite_channel_serializer", "replaced grader.sandbox.channel._dumps"),
    ("impostor_dense_class", "calls itself Keras' Dense"),
    ("patch_json_encoder", "replaced JSONEncoder.encode"),
    ("switch_off_the_guard", "replaced Keras' Dense.get_config"),
])
def test_the_probe_sees_rewrites_at_run_time(secrets, name, reason):
    """The probe's own guard, without the source audit that also flags these files: the reason
    comes from the sandbox's run, before the grader reads the source."""
    _, run = _sandbox_stdout(TRUST / f"{name}.py", secrets)
    assert reason in run.tampered, run.tampered
