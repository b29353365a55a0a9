"""Peak memory and wall time of the Gradescope autograder on Gradescope's default machine.

Usage: python benchmarks/bench_gradescope.py [--memory-mb 768] [--cpus 0.5]

Builds the autograder zip, unpacks it into temporary folders laid out like ``/autograder`` and runs
``run_autograder`` (with this venv's Python instead of setup.sh's installs) for the reference
solution and for a failing submission (two hidden layers), each inside a cgroup v1 child with
Gradescope's default limits: 768 MB of memory, half a CPU. Prints, per run: the score, the wall
time, the cgroup's peak memory (``memory.max_usage_in_bytes``, page cache included, as Docker counts
it), the peak anonymous memory, and OOM kills. These are the figures in
``grader.integrations.gradescope_autograder.MEASURED`` (the package's README). Needs root and writable cgroups.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]


def _test_module():
    spec = importlib.util.spec_from_file_location("test_gradescope", ROOT / "tests" / "test_gradescope.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--memory-mb", type=int, default=768)
    parser.add_argument("--cpus", type=float, default=0.5)
    args = parser.parse_args()
    harness = _test_module()
    from grader.integrations import gradescope_autograder as autograder

    reason = harness.Limited.unavailable()
    if reason:
        print(f"cannot measure: {reason}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="bench-gradescope-") as folder:
        package = Path(folder) / "autograder.zip"
        autograder.main([str(package)])
        limited = harness.Limited(f"bench-gradescope-{os.getpid()}", args.memory_mb, args.cpus)
        try:
            for name, submission in (("solution", harness.SOLUTION), ("failing", harness.FAILING)):
                root = harness.unpack(package, Path(folder) / name, submission)
                result, data, figures = harness.run_autograder(root, limited)
                print(f"{name:8} score {data['score']:g}  {figures['seconds']:.0f} s  peak "
                      f"{figures['peak_mb']:.0f} MB (anonymous {figures['peak_rss_mb']:.0f} MB)  "
                      f"OOM kills {figures['oom_kills']}  (limits: {args.memory_mb} MB, "
                      f"{args.cpus:g} CPU)")
                if result.returncode:
                    print(result.stderr[-2000:], file=sys.stderr)
        finally:
            limited.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
