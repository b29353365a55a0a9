"""Does the fast retrain (Keras on JAX, one lax.scan per epoch) give the verdicts that Keras'
own ``fit`` on TensorFlow gives? Grades every file of the test corpus (and the reference
solution) both ways and compares each check's pass/fail and the grader's test accuracy.

Usage: python benchmarks/compare_backends.py [--cache-dir DIR] [--out FILE.json] [FILE ...]
Retrain results are cached per backend in DIR, so a second run only grades. Exit status 1 when
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

from grader.lane import Lane  # noqa: E402
from grader.pipeline import GradeOptions  # noqa: E402
from grader.rubric import load_rubric  # noqa: E402

BACKENDS = ("jax", "tensorflow")


def grade_all(files: list[Path], backend: str, cache_dir: Path) -> dict[str, dict]:
    """Each file's verdicts and accuracy with the retrain on ``backend``."""
    os.environ["GRADER_RETRAIN_BACKEND"] = backend  # read by the retrain client and its worker
    rubric, lane, out = load_rubric(), Lane(), {}
    options = GradeOptions(use_cache=True, cache_dir=cache_dir / backend)
    try:
        for number, path in enumerate(files, start=1):
            started = time.monotonic()
            report = lane.grade(path, options, rubric)
            out[path.name] = {"checks": {c.id: c.passed for c in report.checks},
                              "accuracy": report.metrics.get("test_accuracy"),
                              "train_seconds": report.metrics.get("train_seconds")}
            print(f"  {backend:10s} {number:3d}/{len(files)} {path.name:45s} "
                  f"{report.score:5.1f}  {time.monotonic() - started:5.1f} s", flush=True)
    finally:
        lane.close()
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
            problems.append(f"{name}: accuracy {a} (jax) vs {b} (tensorflow)")
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
    results = {backend: grade_all(files, backend, cache_dir) for backend in BACKENDS}
    if args.out:
        args.out.write_text(json.dumps(results, indent=1))
    problems = compare(results["jax"], results["tensorflow"], args.tolerance)
    trained = [name for name, r in results["tensorflow"].items() if r["accuracy"] is not None]
    gaps = [abs(results["jax"][n]["accuracy"] - results["tensorflow"][n]["accuracy"])
            for n in trained if results["jax"][n]["accuracy"] is not None]
    print(f"\n{len(files)} submissions, {len(trained)} retrained; verdicts compared for "
          f"{len(files) * len(next(iter(results['jax'].values()))['checks'])} checks")
    if gaps:
        print(f"accuracy |jax - tensorflow|: max {max(gaps):.4f}, mean {sum(gaps) / len(gaps):.4f}")
    print("\n".join(problems) if problems else "no verdict differs; every accuracy within "
          f"{args.tolerance}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
