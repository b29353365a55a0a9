"""End to end: grade every submission in ``tests/corpus/`` and compare with its header.

Every corpus file starts with ``# expect-fail: <check ids>`` (a notebook: its first code cell) (nothing after the colon: the file
must pass all checks) and may carry a second line ``# grade-options: timeout=20 memory_mb=2048``.
The test asserts that the set of failed checks equals the header exactly.

Grading runs real TensorFlow.  The retrain cache lives in one directory per test session (and is
shared with ``test_hostile.py``), so identical model configs are retrained once.

The ordinary submissions here are graded the way batch grading runs them ("warm": sandboxes forked
from a fork server that imported TensorFlow once, one retrain worker per test process), which keeps
the suite fast; ``test_hostile.py`` grades the hostile files, the template and the solution the way
``python -m grader FILE`` does (a fresh interpreter per sandbox), and ``test_batch.py`` proves the
two paths give equal scores.
"""

from __future__ import annotations

import atexit
import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from sentiment_exercise import CHECK_IDS  # the one list of check ids

CORPUS = Path(__file__).resolve().parent / "corpus"
CORPUS_FILES = sorted(CORPUS.glob("*.py"))
ORDINARY_FILES = [p for p in CORPUS_FILES if not p.name.startswith("hostile_")]
DEFAULT_TIMEOUT = 120.0

_EXPECT_RE = re.compile(r"^#\s*expect-fail:(?P<ids>.*)$")
_OPTIONS_RE = re.compile(r"^#\s*grade-options:(?P<opts>.*)$")


@dataclass(frozen=True)
class CorpusCase:
    path: Path
    expected_failures: frozenset[str]
    timeout: float = DEFAULT_TIMEOUT
    memory_mb: int | None = None


def header_lines(path: Path) -> list[str]:
    """The lines that hold a file's header: a script's own, a notebook's first code cell's."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".ipynb":
        first = next(c for c in json.loads(text)["cells"] if c["cell_type"] == "code")
        text = "".join(first["source"]) if isinstance(first["source"], list) else first["source"]
    return text.splitlines()


def parse_case(path: Path) -> CorpusCase:
    lines = header_lines(path)
    match = _EXPECT_RE.match(lines[0]) if lines else None
    if not match:
        raise ValueError(f"{path.name}: the first line must be '# expect-fail: <check ids>'")
    expected = frozenset(match.group("ids").split())
    unknown = expected - set(CHECK_IDS)
    if unknown:
        raise ValueError(f"{path.name}: unknown check ids in header: {sorted(unknown)}")
    timeout, memory_mb = DEFAULT_TIMEOUT, None
    if len(lines) > 1 and (opts := _OPTIONS_RE.match(lines[1])):
        for item in opts.group("opts").split():
            key, _, value = item.partition("=")
            if key == "timeout":
                timeout = float(value)
            elif key == "memory_mb":
                memory_mb = int(value)
            else:
                raise ValueError(f"{path.name}: unknown grade option {key!r}")
    return CorpusCase(path, expected, timeout, memory_mb)


@dataclass
class Graded:
    report: object
    elapsed: float


_MEMO: dict[tuple, Graded] = {}


def shared_cache_dir(tmp_path_factory=None) -> Path:
    """The session's one retrain cache, for every test module, pytest-xdist worker and process
    a test starts (``GRADER_CACHE_DIR``, made fresh by ``tests/conftest.py``)."""
    return Path(os.environ["GRADER_CACHE_DIR"])


_WARM: dict = {}


def _warm() -> dict:
    """This test process's grading lane (fork server, retrain worker), started once."""
    if not _WARM:
        from grader.integrations.lane import Lane
        from grader.rubric import load_rubric

        _WARM.update(lane=Lane(), rubric=load_rubric())
        atexit.register(_WARM["lane"].close)
    return _WARM


def grade_file(path: Path, cache_dir: Path, *, timeout: float = DEFAULT_TIMEOUT,
               memory_mb: int | None = None, use_cache: bool = True, memo: bool = True,
               warm: bool = False) -> Graded:
    """Grade one file through the library API; memoized per session (same file, same options).

    ``warm`` grades as batch grading does (fork server, shared retrain worker); otherwise as
    ``python -m grader FILE`` does.
    """
    from grader.core.options import GradeOptions
    from grader.pipeline import grade

    key = (str(path), timeout, memory_mb, use_cache, warm)
    if memo and key in _MEMO:
        return _MEMO[key]
    options = GradeOptions(timeout=timeout, full=False, use_cache=use_cache, cache_dir=cache_dir,
                           memory_mb=memory_mb)
    start = time.monotonic()
    if warm:
        report = _warm()["lane"].grade(path, options, _warm()["rubric"])
    else:
        report = grade(path, options)
    graded = Graded(report, time.monotonic() - start)
    if memo:
        _MEMO[key] = graded
    return graded


def grade_case(case: CorpusCase, cache_dir: Path, *, warm: bool = False) -> Graded:
    return grade_file(case.path, cache_dir, timeout=case.timeout, memory_mb=case.memory_mb,
                      warm=warm)


def describe(report) -> str:
    lines = [f"score {report.score}/{report.max_score}, metrics {report.metrics}"]
    for check in report.checks:
        mark = "PASS" if check.passed else "FAIL"
        lines.append(f"  [{mark}] {check.id}: {check.message}")
    return "\n".join(lines)


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory) -> Path:
    return shared_cache_dir(tmp_path_factory)


def test_corpus_is_big_enough_and_well_formed():
    cases = [parse_case(p) for p in CORPUS_FILES]
    assert len(cases) >= 35
    must_pass = [c for c in cases if not c.expected_failures]
    assert len(must_pass) >= 20
    # every check fails on its own somewhere (loss_decreases cannot: a model that learns nothing
    # cannot clear the accuracy threshold, so it comes together with `accuracy`)
    alone = {next(iter(c.expected_failures)) for c in cases if len(c.expected_failures) == 1}
    assert set(CHECK_IDS) - alone == {"loss_decreases"}


def assert_verdicts(case: CorpusCase, report) -> None:
    """The failed checks are exactly the header's; scores and the JSON form are consistent."""
    path = case.path
    ids = [c.id for c in report.checks]
    assert sorted(ids) == sorted(CHECK_IDS), f"unexpected check ids: {ids}"
    failed = {c.id for c in report.checks if not c.passed}

    wrongly_failed = failed - case.expected_failures
    wrongly_passed = case.expected_failures - failed
    assert failed == set(case.expected_failures), (
        f"{path.name}: failed checks differ from the header\n"
        f"  failed but expected to pass: {sorted(wrongly_failed)}\n"
        f"  passed but expected to fail: {sorted(wrongly_passed)}\n"
        + describe(report)
    )
    assert report.passed == (not case.expected_failures)
    assert report.not_started is False
    for check in report.checks:
        assert 0 <= check.score <= check.max_score
        assert (check.score == check.max_score) if check.passed else (check.score < check.max_score)
        if not check.passed:
            assert check.message.strip(), f"{check.id} failed without a message"
    assert report.score == pytest.approx(sum(c.score for c in report.checks))
    assert report.max_score == pytest.approx(sum(c.max_score for c in report.checks))

    as_dict = report.to_dict()
    assert set(as_dict) >= {"submission", "passed", "score", "max_score", "checks", "metrics"}
    assert [c["id"] for c in as_dict["checks"]] == ids


@pytest.mark.parametrize("path", ORDINARY_FILES, ids=[p.stem for p in ORDINARY_FILES])
def test_corpus_file(path: Path, cache_dir: Path):
    case = parse_case(path)
    assert_verdicts(case, grade_case(case, cache_dir, warm=True).report)
