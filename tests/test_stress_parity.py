"""The retrain's stress corpus (``benchmarks/stress_configs.py``) and its parity with TensorFlow on
the hardest configurations (issue 22); the whole corpus on 3 seeds is
``benchmarks/stress_parity.py``.

The fast tests read the corpus as data (what real code compiles is in it) and run the benchmark's
judge on outcomes made for it (a fast verdict that is not TensorFlow's is reported, TensorFlow's
own disagreements are not compared). The slow tests build every configuration with Keras and
retrain the hardest for real, with the benchmark's own comparison: the fast path once, and
TensorFlow's reference path with oneDNN's kernels and with Eigen's, each in a process of its own.
"""

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

import stress_configs  # noqa: E402
import stress_parity  # noqa: E402
from stress_configs import Activation, Dense, Dropout  # noqa: E402

RUNNABLE = stress_configs.runnable()


def _hidden(config) -> list:
    return [layer for layer in config.layers[:-1] if isinstance(layer, Dense)]


def _output(config) -> str:
    """The output's activation: the last Dense's, or an Activation layer's after it."""
    last = config.layers[-1]
    return last.activation if isinstance(last, (Dense, Activation)) else "?"


# What the issue asks the corpus to hold, each as a test of one configuration
WANTED = {
    "no L2 and wide layers": lambda c: any(d.units >= 256 for d in _hidden(c))
    and not any(d.l2 for d in _hidden(c)),
    "saturating sigmoid hidden layers": lambda c: any(d.activation == "sigmoid" for d in _hidden(c)),
    "tanh hidden layers": lambda c: any(d.activation == "tanh" for d in _hidden(c)),
    "from_logits=True on a linear output": lambda c: c.loss.from_logits and _output(c) == "linear",
    "from_logits=True after a sigmoid": lambda c: c.loss.from_logits and _output(c) == "sigmoid",
    "BinaryCrossentropy(from_logits=False)": lambda c: c.loss.as_class and not c.loss.from_logits,
    "label smoothing": lambda c: c.loss.label_smoothing > 0,
    "a linear output on probabilities": lambda c: _output(c) == "linear" and not c.loss.from_logits,
    "a relu output": lambda c: _output(c) == "relu",
    "dropout": lambda c: any(isinstance(layer, Dropout) for layer in c.layers),
}


def test_the_corpus_holds_60_configurations_of_what_real_code_compiles():
    """Read as data (no model built): at least 60 runnable configurations, learning rates from
    1e-4 to 1 for Adam, SGD and RMSprop, SGD with momentum and with Nesterov, and each kind of
    model the issue names."""
    assert len(RUNNABLE) >= 60, f"the stress corpus has {len(RUNNABLE)} runnable configurations"
    names = [config.name for config in stress_configs.CONFIGS]
    assert len(set(names)) == len(names), "two stress configurations share a name"
    assert set(stress_configs.HARDEST) <= {config.name for config in RUNNABLE}
    for kind in ("Adam", "SGD", "RMSprop"):
        rates = [c.optimizer.learning_rate for c in RUNNABLE if c.optimizer.kind == kind]
        assert min(rates) <= 1e-4 and max(rates) >= 1.0, f"{kind}'s learning rates: {rates}"
    sgd = [c.optimizer for c in RUNNABLE if c.optimizer.kind == "SGD"]
    assert any(o.momentum and not o.nesterov for o in sgd) and any(o.nesterov for o in sgd)
    missing = [what for what, holds in WANTED.items() if not any(map(holds, RUNNABLE))]
    assert not missing, f"the stress corpus has no configuration with {missing}"


def _run(accuracy: float, loss_decreases: bool, passes: bool, engine: str) -> stress_parity.Run:
    return stress_parity.Run("ok", accuracy, 0.69, 0.3 if loss_decreases else 0.9, engine, 1.0,
                             {"loss_decreases": loss_decreases, "accuracy": passes})


def _outcome(fast: stress_parity.Run, onednn: stress_parity.Run, eigen: stress_parity.Run):
    return stress_parity.Outcome("sheet Adam 0.03", 20261125, {
        stress_parity.FAST: fast, stress_parity.ONEDNN: onednn, stress_parity.EIGEN: eigen})


def test_the_benchmark_reports_a_fast_verdict_that_is_not_tensorflows():
    """Where oneDNN and Eigen agree, a fast verdict that differs is one line with both
    accuracies; where they disagree, the verdict is TensorFlow's rounding and is not compared."""
    tensorflow = _run(0.825, True, True, "tensorflow")
    differs = _outcome(_run(0.47, True, False, "numpy"), tensorflow, tensorflow)
    assert differs.disagreements() == ["accuracy"]
    [line] = stress_parity.disagreement_lines([differs])
    assert line.startswith("sheet Adam 0.03 (seed 20261125): accuracy fast FAIL")
    assert "accuracy 0.4700" in line and "accuracy 0.8250" in line and "TensorFlow pass" in line

    rounding = _outcome(_run(0.47, True, False, "numpy"), tensorflow,
                        _run(0.69, True, False, "tensorflow"))
    assert rounding.reference("accuracy") is None and rounding.reference("loss_decreases") is True
    assert stress_parity.disagreement_lines([rounding]) == []
    same = _outcome(_run(0.83, True, True, "numpy"), tensorflow, tensorflow)
    assert stress_parity.disagreement_lines([same, rounding]) == []


@pytest.mark.slow  # it builds every configuration's model with Keras: ~1-3 min on 2 cores
def test_the_corpus_has_60_configurations_the_grader_retrains():
    from grader.rubric import load_rubric

    configs = stress_configs.runnable()
    assert len(configs) >= 60, f"the stress corpus has {len(configs)} runnable configurations"
    names = [config.name for config in stress_configs.CONFIGS]
    assert len(set(names)) == len(names), "two stress configurations share a name"
    assert set(stress_configs.HARDEST) <= set(names)
    for kind in ("Adam", "SGD", "RMSprop"):
        rates = [c.optimizer.learning_rate for c in configs if c.optimizer.kind == kind]
        assert min(rates) <= 1e-4 and max(rates) >= 1.0, f"{kind}'s learning rates: {rates}"
    observed, job_list = stress_parity.jobs(configs, 3, load_rubric())
    assert len(job_list) == 3 * len(configs)
    assert len({job["request"]["data"]["seed"] for job in job_list}) == 3
    requests = {job["key"].rpartition("|")[0]: job["request"] for job in job_list}
    # what the grader sends follows the loss as compiled
    assert requests["sigmoid output from_logits Adam 1e-3"]["from_logits"] is True
    assert requests["sigmoid output from_logits Adam 1e-3"]["output_activation"] == "sigmoid"
    assert requests["linear output BCE Adam 1e-3"]["output_activation"] == "linear"
    assert requests["label smoothing 0.1"]["loss"]["config"]["label_smoothing"] == 0.1
    assert "class_weight" not in requests["keras-io imbalance Adam 1e-2"]


@pytest.mark.slow
def test_fast_verdicts_are_tensorflows_on_the_hardest_configurations():
    module = stress_parity
    hardest = [c for c in stress_configs.CONFIGS if c.name in stress_configs.HARDEST]
    found = module.compare(hardest, seeds=1)
    assert len(found) == len(hardest)
    compared = sum(o.reference(check) is not None for o in found for check in module.VERDICTS)
    assert compared >= len(found), "TensorFlow disagreed with itself on most verdicts"
    problems = module.disagreement_lines(found)
    assert not problems, "the fast path's verdicts differ from TensorFlow's:\n" + "\n".join(problems)
