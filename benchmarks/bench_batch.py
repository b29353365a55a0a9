"""Batch grading throughput with 1 and 2 local workers, the speed-up, and the cost per submission.

Usage: python benchmarks/bench_batch.py [--submissions N] [--keep DIR]

Makes N distinct submissions (the reference solution with its first hidden width and first
Dropout rate changed, so no two share a retrain; the widths 224-288 keep a class's models the
reference's size on average), then runs ``python -m grader batch`` on them:
1. 1 worker, empty retrain cache: every retrain is paid;
2. 2 workers, another empty retrain cache: the same, in parallel;
3. 1 worker again, with the cache of run 1: the retrain is free, so what is left is the cost per
   submission beyond the retrain (fork a sandbox, run the script with its training shortened,
   observe, check, write results);
4. one submission through the single-file grader (fresh interpreter, cache warm), to compare.
Prints submissions per minute, the speed-up, the per-submission overhead and the projected wall
time for 300 distinct submissions with 1 and 2 workers (what a run pays once, such as starting
its workers, counted once; the rest 300 times), and the speed-up there. A benchmark, not a test:
figures depend on the machine's load.
"""

import argparse
import csv
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOLUTION = ROOT / "solution" / "sentiment_classifier.py"


def make_submissions(folder: Path, count: int) -> None:
    source = SOLUTION.read_text()
    folder.mkdir(parents=True)
    for i in range(count):
        width, rate = 224 + 2 * (i % 33), 0.5 - 0.01 * (i // 33)
        variant = re.sub(r"Dense\(256,", f"Dense({width},", source, count=1)
        variant = re.sub(r"Dropout\(0\.5\)", f"Dropout({rate:.2f})", variant, count=1)
        (folder / f"student{i:03d}.py").write_text(variant)


def run(folder: Path, out: Path, cache: Path, *more: str) -> float:
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "grader", "batch", str(folder), "--out", str(out),
                             "--cache-dir", str(cache), "--quiet", *more], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"batch failed ({result.returncode}): {result.stderr[-2000:]}")
    return seconds


def timings(out: Path) -> list[dict]:
    with open(out / "timings.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def scores(out: Path) -> set[str]:
    with open(out / "grades.csv", newline="") as handle:
        return {row["score"] for row in csv.DictReader(handle)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=6)
    parser.add_argument("--keep", type=Path, help="keep the work folder here")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-batch-"))
    if work.exists() and args.keep:
        shutil.rmtree(work)
    n = args.submissions
    subs = work / "submissions"
    make_submissions(subs, n)

    one = run(subs, work / "out1", work / "cache1", "--workers", "1")
    two = run(subs, work / "out2", work / "cache2", "--workers", "2")
    warm = run(subs, work / "out3", work / "cache1", "--workers", "1")
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "grader", "--cache-dir", str(work / "cache1"),
                    str(subs / "student000.py")], cwd=ROOT, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    single = time.perf_counter() - started

    rows1, rows3 = timings(work / "out1"), timings(work / "out3")
    retrain = [float(r["retrain_seconds"]) for r in rows1]
    seconds_1 = [float(r["seconds"]) for r in rows1]
    beyond = [s - t for s, t in zip(seconds_1, retrain)]
    cached = [float(r["seconds"]) for r in rows3]
    assert all(r["retrain_cached"] == "True" for r in rows3), "run 3 should hit the cache"
    summary = json.loads((work / "out1" / "summary.json").read_text())
    # what a run pays once, whatever its size: in run 1 everything outside the gradings; run 2
    # pays the same, but its workers' start-up as measured in that run
    startup = one - sum(seconds_1)
    start_up_1, start_up_2 = (json.loads((work / out / "summary.json").read_text())["run"]
                              ["start_up_seconds"] for out in ("out1", "out2"))
    startup_2 = startup - start_up_1 + start_up_2
    rate1, rate2 = n / one * 60, n / two * 60
    per_sub_2 = (two - startup_2) / n

    print(f"cores: {os.cpu_count()}  submissions: {n} distinct models  scores: {sorted(scores(work / 'out1'))}")
    print(f"1 worker : {one:6.1f} s wall  {rate1:5.2f} submissions/min")
    print(f"2 workers: {two:6.1f} s wall  {rate2:5.2f} submissions/min  speed-up {one / two:.2f}x")
    print(f"once per run: ~{startup:.1f} s with 1 worker, ~{startup_2:.1f} s with 2 (of which "
          f"starting the workers: {start_up_1:.1f} s and {start_up_2:.1f} s)")
    print(f"per submission, 1 worker: median {statistics.median(seconds_1):.1f} s, of which the "
          f"retrain {statistics.median(retrain):.1f} s")
    print(f"overhead beyond the retrain (1 worker, retrain paid): median "
          f"{statistics.median(beyond):.2f} s, mean {statistics.fmean(beyond):.2f} s")
    print(f"per submission with the retrain cached (sandbox + shortened script + checks): median "
          f"{statistics.median(cached):.2f} s  (batch wall {warm:.1f} s)")
    print(f"single-file grader, same submission, retrain cached (fresh interpreter): {single:.1f} s")
    per_sub_1 = (one - startup) / n
    projected_1, projected_2 = startup + 300 * per_sub_1, startup_2 + 300 * per_sub_2
    print(f"projected wall time for 300 distinct submissions: 1 worker {projected_1 / 60:.1f} min, "
          f"2 workers {projected_2 / 60:.1f} min (speed-up {projected_1 / projected_2:.2f}x)")
    print(f"(work folder: {work}; {summary['submissions']} graded)")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
