"""The retrain's stress corpus (``benchmarks/stress_configs.py``) and its parity with TensorFlow on
the hardest configurations (issue 22); the whole corpus on 3 seeds is
``benchmarks/stress_parity.py``.

The slow test retrains for real, with the benchmark's own comparison: the fast path once, and
TensorFlow's reference path with oneDNN's kernels and with Eigen's, each in a process of its own.
"""

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

import stress_configs  # noqa: E402
import stress_parity  # noqa: E402


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
