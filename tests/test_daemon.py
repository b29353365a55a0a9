"""The grading daemon that keeps ``python -m grader FILE`` warm: real processes, real sockets.

It must give the verdicts a cold grading gives, answer only the grader (its uid and its secret),
be out of a sandbox's reach, and stop when told.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from grader.integrations import daemon

ROOT = Path(__file__).resolve().parent.parent
SOLUTION = ROOT / "solution" / "sentiment_classifier.py"
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux only")]


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """A daemon of the tests' own (its own cache directory, hence its own address)."""
    cache = tmp_path_factory.mktemp("daemon-cache")
    env = {**os.environ, "GRADER_DAEMON": "1", "GRADER_CACHE_DIR": str(cache),
           "GRADER_DAEMON_IDLE": "120"}
    yield cache, env
    subprocess.run([sys.executable, "-m", "grader", "daemon", "stop"], env=env, cwd=ROOT,
                   capture_output=True, timeout=60)


def grade(env: dict, *args: str) -> dict:
    done = subprocess.run([sys.executable, "-m", "grader", str(SOLUTION), "--format", "json",
                           *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


def status(env: dict) -> str:
    return subprocess.run([sys.executable, "-m", "grader", "daemon", "status"], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=60).stdout


def test_daemon_grades_like_a_cold_grading_and_stays_for_the_next(home):
    cache, env = home
    assert "not running" in status(env)
    first = grade(env)  # starts the daemon; retrains (its cache is empty) and caches the result
    assert "running" in status(env) and "not" not in status(env)
    second = grade(env)  # served warm; the retrain is first's, from the cache
    cold = grade({**env, "GRADER_DAEMON": "0"}, "--no-cache")  # retrains, cold
    for report in (first, second):
        assert report["score"] == report["max_score"]
        assert report["metrics"]["test_accuracy"] == cold["metrics"]["test_accuracy"]
        assert report["metrics"]["last_loss"] == cold["metrics"]["last_loss"]
        assert [c["passed"] for c in report["checks"]] == [c["passed"] for c in cold["checks"]]
    assert second["metrics"]["run_seconds"] < cold["metrics"]["run_seconds"]  # no import
    assert (cache / "daemon" / "key").stat().st_mode & 0o777 == 0o600


def test_daemon_answers_only_who_knows_the_secret(home):
    cache, env = home
    grade(env)  # make sure it runs
    handle = daemon.Daemon(cache / "daemon")
    handle._connect({"want": "ping"}).close()
    impostor = daemon.Daemon(cache / "daemon")
    impostor.secret = b"not the secret"
    with pytest.raises(daemon.DaemonError):
        impostor._connect({"want": "sandbox"})
    raw = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)  # a client that proves nothing
    raw.connect(handle.address)
    raw.recv(1000)
    raw.send(b'{"want": "trainer", "setup": "{}", "proof": "00"}')
    assert raw.recv(1000) == b""  # hung up on
    raw.close()
    handle._connect({"want": "ping"}).close()  # and still serving


def test_a_sandboxed_script_cannot_reach_the_daemon(home, tmp_path):
    cache, env = home
    grade(env)
    address = daemon.Daemon(cache / "daemon").address
    script = tmp_path / "reach_daemon.py"
    script.write_text(
        "import socket\n"
        "s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)\n"
        "try:\n"
        f"    s.connect({address!r})\n"
        "except OSError as exc:\n"
        "    print('refused:', type(exc).__name__)\n"
        "else:\n"
        "    raise SystemExit('connected to the grading daemon')\n")
    done = subprocess.run([sys.executable, "-m", "grader", str(script), "--format", "json"],
                          env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
    report = json.loads(done.stdout)
    # it ends with an error if it connects; else it ends normally (as an unstarted exercise)
    assert report["not_started"], report["checks"][0]["message"]
    assert "connected to the grading daemon" not in done.stdout


def test_stop_ends_the_daemon(home):
    cache, env = home
    grade(env)
    stopped = subprocess.run([sys.executable, "-m", "grader", "daemon", "stop"], env=env, cwd=ROOT,
                             capture_output=True, text=True, timeout=60).stdout
    assert "stopped" in stopped
    assert "not running" in status(env)


def test_a_retrain_switch_reaches_the_retrain_through_the_daemon_or_is_refused(home):
    """GRADER_RETRAIN_ENGINE=keras trains with Keras even when the daemon's spare worker was
    started without it (the setup carries the switch; a spare serves only its own settings), and
    an unknown value is refused before anything is graded."""
    cache, env = home
    default = grade(env, "--no-cache")
    assert default["info"]["retrain_engine"] == "numpy"
    switched = grade({**env, "GRADER_RETRAIN_ENGINE": "keras"}, "--no-cache")
    assert switched["info"]["retrain_engine"] == "jax"
    assert switched["score"] == switched["max_score"]
    refused = subprocess.run([sys.executable, "-m", "grader", str(SOLUTION)],
                             env={**env, "GRADER_RETRAIN_BACKEND": "pytorch"}, cwd=ROOT,
                             capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2
    assert "GRADER_RETRAIN_BACKEND='pytorch' is not one of jax, tensorflow" in refused.stderr
