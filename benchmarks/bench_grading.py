"""Wall time and memory of running the reference solution bare versus grading it, measured side
by side in one run, and the trusted retrain against a hand-written JAX loop of the same maths.

Usage: python benchmarks/bench_grading.py [--repeat N] [FILE]
Prints, per repeat and as medians:
- the bare run (``python FILE``);
- the first grading, which starts the grading daemon (``grader/integrations/daemon.py``);
- a cold grading (``python -m grader --no-cache``: a fresh sandbox, the whole 50-epoch retrain)
  with the daemon running, as a student's next grading is, and one with ``--no-daemon``;
- a regrade with the retrain cached (a cache that already holds the result);
- the grader's retrain time (from the report) against ``benchmarks/jax_reference.py``;
- the peak memory of a grading without the daemon over the grader's whole process tree (grader,
  sandbox, retrain worker), sampled every 50 ms: PSS (shared library pages split between the
  processes that share them) and the plain RSS sum; and each part's own peak.
A benchmark, not a test: figures depend on the machine's load.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}


def _tree_memory_mb(process: psutil.Process) -> tuple[float, float]:
    """Resident memory summed over ``process`` and its descendants: RSS (pages shared between
    processes, TensorFlow's libraries say, count once per process) and PSS (each shared page
    split between its sharers: what the tree really holds)."""
    rss = pss = 0
    for each in [process, *process.children(recursive=True)]:
        try:
            info = each.memory_full_info()
        except psutil.Error:
            continue
        rss, pss = rss + info.rss, pss + getattr(info, "pss", info.rss)
    return rss / 2**20, pss / 2**20


def timed(command: list[str]) -> tuple[float, tuple[float, float], str]:
    """Seconds, peak process-tree memory (RSS and PSS sums, MB) and standard output of ``command``."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, env=ENV, text=True)
    peak, watched = [0.0, 0.0], psutil.Process(process.pid)

    def sample():
        while process.poll() is None:
            try:
                rss, pss = _tree_memory_mb(watched)
                peak[:] = max(peak[0], rss), max(peak[1], pss)
            except psutil.Error:
                pass
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out = process.communicate()[0]
    seconds = time.perf_counter() - started
    sampler.join()
    return seconds, tuple(peak), out


def reference_seconds() -> float:
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "jax_reference.py"), "--once"],
                         cwd=ROOT, capture_output=True, text=True, check=True, env=ENV).stdout
    return float(out.split()[0])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?", default="solution/sentiment_classifier.py")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as cache, tempfile.TemporaryDirectory() as home:
        ENV["GRADER_CACHE_DIR"] = home  # the grading daemon's home: started by this benchmark
        grader = [sys.executable, "-m", "grader", args.file, "--format", "json"]
        first = timed(grader + ["--no-cache"])[0]  # starts the daemon
        for _ in range(args.repeat):
            bare = timed([sys.executable, args.file])[0]
            alone, peak, out = timed(grader + ["--no-cache", "--no-daemon"])
            time.sleep(10)  # the daemon's next spare retrain worker warms up between gradings
            warm, _, out = timed(grader + ["--no-cache"])
            report = json.loads(out)
            if report["score"] != report["max_score"]:
                print(f"the reference scored {report['score']}/{report['max_score']}")
            timed(grader + ["--cache-dir", cache])  # fills the retrain cache
            cached = timed(grader + ["--cache-dir", cache])[0]
            metrics = report["metrics"]
            rows.append({"bare": bare, "alone": alone, "warm": warm, "cached": cached,
                         "peak_rss": peak[0], "peak_pss": peak[1],
                         "retrain": metrics["train_seconds"],
                         "reference": reference_seconds(),
                         "sandbox_peak": metrics["peak_memory_mb"],
                         "retrain_peak": metrics.get("train_peak_memory_mb")})
            print("  " + "  ".join(f"{k} {v:.2f}" for k, v in rows[-1].items() if v is not None),
                  flush=True)
        subprocess.run([sys.executable, "-m", "grader", "daemon", "stop"], cwd=ROOT, env=ENV,
                       capture_output=True)
    median = {key: statistics.median(r[key] for r in rows if r[key] is not None) for key in rows[0]}
    print(f"cores: {os.cpu_count()}  runs: {args.repeat}  (medians)")
    print(f"bare run   (python {args.file}): {median['bare']:.1f} s")
    print(f"first grading, which starts the grading daemon: {first:.1f} s  "
          f"ratio {first / median['bare']:.2f}")
    print(f"cold grading, daemon running (python -m grader --no-cache): {median['warm']:.1f} s  "
          f"ratio {median['warm'] / median['bare']:.2f}")
    print(f"cold grading without the daemon (--no-cache --no-daemon): {median['alone']:.1f} s  "
          f"ratio {median['alone'] / median['bare']:.2f}")
    print(f"regrade, retrain cached (daemon running): {median['cached']:.1f} s  ratio "
          f"{median['cached'] / median['bare']:.2f}")
    print(f"trusted retrain: {median['retrain']:.2f} s; hand-written JAX loop: "
          f"{median['reference']:.2f} s; ratio {median['retrain'] / median['reference']:.2f}")
    print(f"peak memory of a grading without the daemon, over the process tree: PSS "
          f"{median['peak_pss']:.0f} MB (RSS summed: {median['peak_rss']:.0f} MB); as each part "
          f"reports its own peak: sandbox {median['sandbox_peak']:.0f} MB, retrain worker "
          f"{median.get('retrain_peak') or 0:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
