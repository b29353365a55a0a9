"""The retrain cache's key: what decides a retrain's numbers is in it, so a cached result is never
one that the retrain as it is now would not give.

The key covers the request, the worker's setup (the grader's data, the exercise's sizes and data
maker, the retrain's backend and engine), the libraries' versions and every source file the
worker runs, found from the worker's imports rather than listed by hand.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from grader.core.request import RetrainRequest
from grader.retrain.client import request_key, retrain_sources, worker_setup
from grader.rubric import load_rubric

ROOT = Path(__file__).resolve().parent.parent
RETRAIN = ROOT / "grader" / "retrain"


@pytest.fixture(scope="module")
def setup() -> dict:
    return worker_setup(load_rubric())


def _request() -> RetrainRequest:
    dense = {"class_name": "Dense", "module": "keras.layers",
             "config": {"units": 1, "activation": "sigmoid"}}
    return RetrainRequest(
        model_config={"class_name": "Sequential", "module": "keras",
                      "config": {"name": "m", "layers": [dense]}},
        loss="binary_crossentropy", loss_name="binary_crossentropy",
        optimizer={"class_name": "Adam", "module": "keras.optimizers",
                   "config": {"learning_rate": 0.001}},
        n_features=500, epochs=50, batch_size=32, seed=42)


def test_every_file_of_the_retrain_package_is_a_source(setup):
    files = {path for _, path in retrain_sources(setup["data_maker"])}
    assert set(RETRAIN.glob("*.py")) <= files
    assert {RETRAIN / "fused.py", RETRAIN / "client.py"} <= files  # the two the old list missed


def test_every_module_of_the_grader_the_worker_loads_is_a_source(setup):
    """The worker's real imports, read from a fresh interpreter that imported it and made the
    exercise's data, are all in the key's sources: a module added to its imports is never left
    out."""
    program = ("import json, sys\n"
               "import grader.retrain.worker\n"
               "from grader.retrain.data import data_maker\n"
               "setup = json.loads(sys.argv[1])\n"
               "data_maker(setup['data_maker'])(setup['data'], setup['exercise'])\n"
               "print(json.dumps(sorted({getattr(m, '__file__', None) or '' "
               "for m in list(sys.modules.values())})))\n")
    done = subprocess.run([sys.executable, "-c", program, json.dumps(setup)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300, check=True)
    loaded = {Path(p).resolve() for p in json.loads(done.stdout.splitlines()[-1]) if p}
    ours = {path for path in loaded if ROOT in path.parents and ".venv" not in path.parts}
    sources = {path.resolve() for _, path in retrain_sources(setup["data_maker"])}
    assert ROOT / "grader" / "core" / "request.py" in ours  # the walk has something to find
    assert ours - sources == set(), f"loaded by the worker, not in the key: {ours - sources}"


def test_an_exercises_own_data_maker_and_its_imports_are_sources():
    """A data maker in an exercise's package: its module, the packages around it and what they
    import are followed (the exercise's ``__init__`` runs when the worker imports the maker)."""
    sources = dict(retrain_sources("exercises.sentiment.tables:Parameters"))
    assert {"exercises", "exercises.sentiment", "exercises.sentiment.tables",
            "exercises.sentiment.checks", "grader.checks"} <= set(sources)
    assert sources["exercises.sentiment.tables"] == ROOT / "exercises" / "sentiment" / "tables.py"


@pytest.mark.parametrize("variable, values", [("GRADER_RETRAIN_ENGINE", ("numpy", "keras")),
                                              ("GRADER_RETRAIN_BACKEND", ("jax", "tensorflow"))])
def test_the_engine_and_the_backend_are_in_the_key(monkeypatch, variable, values):
    keys = set()
    for value in values:
        monkeypatch.setenv(variable, value)
        keys.add(request_key(_request(), worker_setup(load_rubric())))
    assert len(keys) == 2


def test_the_exercises_sizes_and_data_maker_are_in_the_key(setup):
    """Two rubrics that differ only in what the request does not carry (the number of samples,
    the test fraction, the data maker) never share results."""
    key = request_key(_request(), setup)
    assert request_key(_request(), json.loads(json.dumps(setup))) == key
    bigger = {**setup, "exercise": {**setup["exercise"],
                                    "n_samples": int(setup["exercise"]["n_samples"]) + 1}}
    assert request_key(_request(), bigger) != key
    other = {**setup, "exercise": {**setup["exercise"], "test_fraction": 0.3}}
    assert request_key(_request(), other) != key


def test_the_numeric_environment_reaches_every_worker_and_the_key(monkeypatch):
    """OPENBLAS_CORETYPE chose other kernels for the daemon's workers than for the command's
    (0.8875 against 0.885 for the reference solution): the daemon now passes the user's numeric
    variables on, and a change of them is another cache key."""
    from grader.retrain import client

    environ = {"OPENBLAS_CORETYPE": "Haswell", "MKL_CBWR": "AVX2", "XLA_FLAGS": "--x",
               "HOME": "/h", "OPENBLAS": "not a prefix match", "PATH": "/bin"}
    assert client.numeric_environment(environ) == {
        "OPENBLAS_CORETYPE": "Haswell", "MKL_CBWR": "AVX2", "XLA_FLAGS": "--x"}
    request, setup = _request(), worker_setup(load_rubric())
    monkeypatch.setenv("OPENBLAS_CORETYPE", "Haswell")
    haswell = client.request_key(request, setup)
    monkeypatch.setenv("OPENBLAS_CORETYPE", "SkylakeX")
    assert client.request_key(request, setup) != haswell
