"""Grading lanes share one TensorFlow import: a second lane's fork server is a clone of the first's.

Real fork servers, real sandboxes, the reference solution: a clone is ready without importing
again, serves sandboxes at the same time as its origin, observes what its origin observes, and a
lane whose origin is gone still grades (its sandbox starts cold, then it starts its own server).
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from grader.integrations.batch import Slot
from grader.core.request import RetrainRequest
from grader.integrations.lane import Lane
from grader.observation import observe
from grader.core.options import GradeOptions
from grader.pipeline import training_request
from grader.rubric import load_rubric
from grader.sandbox import Limits

pytestmark = pytest.mark.slow

SOLUTION = Path(__file__).resolve().parent.parent / "solution" / "sentiment_classifier.py"
SOURCE = SOLUTION.read_text()
LIMITS = Limits(timeout_seconds=120, memory_mb=4096)


@pytest.fixture(scope="module")
def lanes():
    first = Lane()
    second = Lane(origin=first)
    first.runner()
    second.runner()
    yield first, second
    second.close()
    first.close()


def _request(lane: Lane):
    run = lane.runner()("solution.py", SOURCE.encode(), limits=LIMITS)
    return run, training_request(observe(run, SOURCE), load_rubric())


def test_a_clone_is_ready_without_importing_tensorflow_again(lanes):
    first, second = lanes
    assert first._server.wait_ready()["import_seconds"] > 1.0
    assert second._server.wait_ready()["import_seconds"] < 0.5
    assert second._server is not first._server


def test_a_clone_and_its_origin_run_sandboxes_at_the_same_time_and_agree(lanes):
    results: dict = {}
    threads = [threading.Thread(target=lambda lane=lane: results.update({lane: _request(lane)}))
               for lane in lanes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    (run_1, request_1), (run_2, request_2) = (results[lane] for lane in lanes)
    assert run_1.status == run_2.status == "exited"
    assert isinstance(request_1, RetrainRequest) and request_1 == request_2


def test_a_malformed_request_is_answered_with_an_error_and_the_server_serves_on(lanes):
    import json
    import socket

    server = lanes[1]._server
    with server._lock:
        socket.send_fds(server._socket, [b"not json"], [])
        reply = server._receive(30)
    assert reply and "error" in reply and "JSONDecodeError" in json.dumps(reply)
    run, request = _request(lanes[1])
    assert run.status == "exited" and isinstance(request, RetrainRequest)


def test_a_lane_whose_origin_is_gone_still_grades():
    origin = Lane()
    lane = Lane(origin=origin)
    try:
        lane.runner()
        lane._server.wait_ready()
        origin.close()  # the clone dies with its origin's server
        run, request = _request(lane)
        assert run.status == "exited" and isinstance(request, RetrainRequest)
        run, request = _request(lane)  # and then it starts a server of its own
        assert run.status == "exited" and isinstance(request, RetrainRequest)
        assert lane._server.wait_ready()["import_seconds"] > 1.0
    finally:
        lane.close()
        origin.close()


def test_a_slot_is_ready_only_once_its_retrain_worker_is(tmp_path):
    rubric = load_rubric()
    options = GradeOptions(cache_dir=tmp_path)
    first = Slot("a")
    second = Slot("b", origin=first)
    try:
        for slot in (first, second):
            slot.warm_up(rubric, options)
        for slot in (first, second):
            slot.wait_ready()
            worker = slot.retrainer(rubric, options)._process
            assert worker._said_ready.is_set() and worker.alive
        assert second._server.wait_ready()["import_seconds"] < 0.5
    finally:
        second.close()
        first.close()
