"""Fast mode runs scripts with Keras on NumPy; what the grader observes must be TensorFlow's.

Every ordinary corpus file and every student file runs in the sandbox twice, through one fork
server: as fast mode runs it (Keras on NumPy, ``fit`` recorded, TensorFlow again if it raised)
and on TensorFlow alone. Both observations must ask the grader to retrain the same model and
give every check the same verdict. Then the rerun itself: a script that only TensorFlow can run
is run again there and passes, and a script that raises on both backends shows TensorFlow's error.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.checks import run_checks
from grader.observation import observe
from grader.pipeline import training_request
from grader.rubric import load_rubric
from grader.sandbox import Limits, run_script
from grader.sandbox.forkserver import ForkServer
from grader.sources import read_submission

pytestmark = pytest.mark.slow

TESTS = Path(__file__).resolve().parent
SOLUTION = TESTS.parent / "solution" / "sentiment_classifier.py"
FILES = sorted(p for p in [*(TESTS / "corpus").glob("*.py"), *(TESTS / "students").iterdir()]
               if not p.name.startswith("hostile_"))
LIMITS = Limits(timeout_seconds=120, memory_mb=4096)


@pytest.fixture(scope="module")
def server():
    server = ForkServer()
    server.wait_ready()
    yield server
    server.close()


def _run(server, name: str, source: str, backend: str | None = None):
    return run_script(name, source.encode(), limits=LIMITS, start=server.start,
                      inherited_mb=server.inherited_mb, backend=backend)


def _verdicts(obs, rubric):
    return [(check.id, check.passed) for check in run_checks(obs, None, rubric)]


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_fast_mode_observes_what_tensorflow_shows(server, path: Path):
    rubric = load_rubric()
    submission = read_submission(path)
    fast = _run(server, submission.script_name, submission.source)
    slow = _run(server, submission.script_name, submission.source, backend="tensorflow")
    assert slow.backend == "tensorflow"
    assert fast.backend == ("tensorflow" if fast.rerun_because else "numpy")
    seen, truth = observe(fast, submission.source), observe(slow, submission.source)
    if truth.status == "completed":  # a rerun is only for scripts that raise
        assert (fast.backend, fast.rerun_because) == ("numpy", "")
    assert training_request(seen, rubric) == training_request(truth, rubric)
    assert _verdicts(seen, rubric) == _verdicts(truth, rubric)
    assert seen.status == truth.status
    assert (seen.error and seen.error.type) == (truth.error and truth.error.type)


def test_the_reference_solution_runs_on_numpy_without_a_rerun(server):
    run = _run(server, "solution.py", SOLUTION.read_text())
    assert (run.backend, run.rerun_because) == ("numpy", "")
    assert (run.status, run.exit_code) == ("exited", 0)
    obs = observe(run, SOLUTION.read_text())
    assert obs.shortened and obs.evaluated and obs.test_accuracies
    assert obs.fits[-1].epochs == 50 and obs.fits[-1].validation_split == pytest.approx(0.2)


def test_a_script_only_tensorflow_can_run_is_run_again_there_and_passes(server):
    # On NumPy, calling the model returns a NumPy array, which has no .numpy()
    source = SOLUTION.read_text() + (
        "\nprobabilities = model(X_test).numpy()\n"
        "print('Accuracy by hand:', ((probabilities[:, 0] > 0.5) == y_test).mean())\n")
    run = _run(server, "solution.py", source)
    assert run.backend == "tensorflow"
    assert "AttributeError" in run.rerun_because
    obs = observe(run, source)
    assert obs.status == "completed" and obs.error is None
    assert obs.backend == "tensorflow" and "AttributeError" in obs.rerun_because


def test_an_error_on_both_backends_is_tensorflows(server):
    source = SOLUTION.read_text().replace("model.evaluate(X_test, y_test, verbose=0)",
                                          "model.evaluate(X_test[:, :499], y_test, verbose=0)")
    run = _run(server, "solution.py", source)
    assert run.backend == "tensorflow" and run.rerun_because
    obs = observe(run, source)
    assert obs.status == "error" and obs.error.type == "ValueError"
    assert obs.error.line.strip().startswith("test_loss, test_accuracy = model.evaluate(")
    assert "expected shape" in obs.error.message or "incompatible" in obs.error.message


def test_no_rerun_when_too_little_time_is_left(server):
    source = "import time\ntime.sleep(2)\nraise ValueError('late')\n"
    run = run_script("late.py", source.encode(), limits=Limits(timeout_seconds=21),
                     start=server.start, inherited_mb=server.inherited_mb)
    assert (run.backend, run.rerun_because) == ("numpy", "")
    assert observe(run, source).error.type == "ValueError"


def test_a_backend_keras_cannot_load_is_reported_not_a_silent_crash(server):
    run = _run(server, "solution.py", SOLUTION.read_text(), backend="nonesuch")
    obs = observe(run, SOLUTION.read_text())
    assert obs.status == "error" and obs.error.type == "ValueError"
    assert "nonesuch" in obs.error.message
