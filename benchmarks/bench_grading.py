"""Wall time of running the reference solution bare versus grading it, measured in one run.

Usage: python benchmarks/bench_grading.py [--repeat N] [FILE]
Grading runs with the retrain cache off, so it pays for the grader's whole 50-epoch retrain.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def timed(command: list[str]) -> tuple[float, int]:
    started = time.perf_counter()
    result = subprocess.run(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    return time.perf_counter() - started, result.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?", default="solution/sentiment_classifier.py")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    bare, graded = [], []
    for _ in range(args.repeat):
        seconds, code = timed([sys.executable, args.file])
        bare.append(seconds)
        seconds, code = timed([sys.executable, "-m", "grader", "--no-cache", args.file])
        graded.append(seconds)
        if code != 0:
            print(f"grading exited with {code}: the reference did not earn full marks")
    b, g = statistics.median(bare), statistics.median(graded)
    print(f"cores: {os.cpu_count()}  runs: {args.repeat}")
    print(f"bare run   (python {args.file}): median {b:.1f} s  {[round(x, 1) for x in bare]}")
    print(f"grading    (python -m grader --no-cache): median {g:.1f} s  {[round(x, 1) for x in graded]}")
    print(f"ratio grading / bare: {g / b:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
