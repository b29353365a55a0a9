"""Does the fast retrain give the verdicts that Keras' own ``fit`` on TensorFlow gives? Grades
every file of the test corpus (and the reference solution) both ways and compares each check's
pass/fail and the grader's test accuracy.

The fast retrain is the NumPy path for plain MLPs, else Keras on JAX (the engine is printed per
file). The TensorFlow reference draws the same shuffles, initial weights and, for models the
NumPy path trains, the same dropout masks, so the comparison measures the arithmetic, not luck.

Usage: python benchmarks/compare_backends.py [--cache-dir DIR] [--out FILE.json] [FILE ...]
Each script runs once in the sandbox; its model is retrained on both backends. Retrain results
are cached per backend in DIR, so a second run only runs the scripts. Exit status 1 when
a verdict differs or an accuracy differs by more than --tolerance (default 0.02).
"""

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader.checks import run_checks  # noqa: E402
from grader.integrations.lane import Lane  # noqa: E402
from grader.core.options import GradeOptions  # noqa: E402
from grader.pipeline import _observe, training_request  # noqa: E402
from grader.retrain.client import ResultCache, Retrainer, TrainingResult  # noqa: E402
from grader.rubric import load_rubric  # noqa: E402

BACKENDS = ("jax", "tensorflow")


def grade_all(files: list[Path], cache_dir: Path, tolerance: float) -> dict[str, dict[str, dict]]:
    """Each file's verdicts and accuracy per backend: the script runs once in the sandbox, and
    its model is retrained on each backend."""
    rubric, lane = load_rubric(), Lane()
    retrainers = {}
    for backend in BACKENDS:
        os.environ["GRADER_RETRAIN_BACKEND"] = backend  # read when the worker starts
        retrainers[backend] = Retrainer(rubric, ResultCache(cache_dir / backend))
        retrainers[backend].start()
    out = {backend: {} for backend in BACKENDS}
    try:
        for number, path in enumerate(files, start=1):
            obs = _observe(path, GradeOptions(), rubric, retrainers["jax"], lambda text: None,
                           lane.runner(), None)
            request = training_request(obs, rubric)
            line = f"{number:3d}/{len(files)} {path.name:45s}"
            for backend in BACKENDS:
                os.environ["GRADER_RETRAIN_BACKEND"] = backend  # part of the cache key
                started = time.monotonic()
                training = (request if isinstance(request, TrainingResult) or request is None
                            else retrainers[backend].result(request))
                checks = run_checks(obs, training, rubric)
                out[backend][path.name] = {
                    "checks": {c.id: c.passed for c in checks},
                    "accuracy": training.test_accuracy if training else None,
                    "status": training.status if training else None,
                    "engine": training.engine if training else None}
                accuracy = out[backend][path.name]["accuracy"]
                engine = out[backend][path.name]["engine"] or backend
                line += (f"  {engine} {sum(c.passed for c in checks):2d} passed, accuracy "
                         f"{'-' if accuracy is None else format(accuracy, '.4f')} "
                         f"{time.monotonic() - started:5.1f} s")
            differ = compare({path.name: out["jax"][path.name]},
                             {path.name: out["tensorflow"][path.name]}, tolerance)
            print(line + ("  DIFFERS: " + "; ".join(differ) if differ else "  same"), flush=True)
    finally:
        lane.close()
        for retrainer in retrainers.values():
            retrainer.close()
    return out


def compare(fast: dict, reference: dict, tolerance: float) -> list[str]:
    """One line per file whose verdicts or accuracy differ."""
    problems = []
    for name, ref in reference.items():
        got = fast[name]
        differ = sorted(c for c, ok in ref["checks"].items() if got["checks"].get(c) != ok)
        a, b = got["accuracy"], ref["accuracy"]
        if differ:
            problems.append(f"{name}: verdicts differ on {', '.join(differ)}")
        if (a is None) != (b is None) or (a is not None and abs(a - b) > tolerance):
            problems.append(f"{name}: accuracy {a} (fast) vs {b} (tensorflow)")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path)
    parser.add_argument("--cache-dir", type=Path)
    parser.add_argument("--out", type=Path, help="write both backends' results as JSON")
    parser.add_argument("--tolerance", type=float, default=0.02)
    args = parser.parse_args()
    files = args.files or sorted((ROOT / "tests" / "corpus").glob("*.py")) + sorted(
        (ROOT / "tests" / "corpus").glob("*.ipynb")) + [ROOT / "solution" / "sentiment_classifier.py"]
    cache_dir = args.cache_dir or Path(tempfile.mkdtemp(prefix="compare-backends-"))
    results = grade_all(files, cache_dir, args.tolerance)
    if args.out:
        args.out.write_text(json.dumps(results, indent=1))
    problems = compare(results["jax"], results["tensorflow"], args.tolerance)
    trained = [name for name, r in results["tensorflow"].items() if r["accuracy"] is not None]
    gaps = [abs(results["jax"][n]["accuracy"] - results["tensorflow"][n]["accuracy"])
            for n in trained if results["jax"][n]["accuracy"] is not None]
    print(f"\n{len(files)} submissions, {len(trained)} retrained; verdicts compared for "
          f"{len(files) * len(next(iter(results['jax'].values()))['checks'])} checks")
    if gaps:
        gaps.sort()
        print(f"accuracy |fast - tensorflow|: median {gaps[len(gaps) // 2]:.4f}, max {gaps[-1]:.4f}, "
              f"mean {sum(gaps) / len(gaps):.4f}")
    engines = [r.get("engine") for r in results["jax"].values() if r["accuracy"] is not None]
    print("fast path engines: " + ", ".join(f"{e} {engines.count(e)}" for e in sorted(set(engines), key=str)))
    print("\n".join(problems) if problems else "no verdict differs; every accuracy within "
          f"{args.tolerance}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
