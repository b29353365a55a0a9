"""The end of a batch: score distribution, most-failed checks, slowest submissions, a plot.

Works on batch records (``{"student", "report": Report.to_dict(), "seconds", "final"}``), as the
batch keeps them on disk. Matplotlib is imported only by ``plot``.
"""

from __future__ import annotations

import statistics
from collections import Counter
from pathlib import Path

TOP = 5


def summarize(records: list[dict]) -> dict:
    """Figures for the summary (plain data: written as ``summary.json``)."""
    reports = [r["report"] for r in records]
    scores = [float(r["score"]) for r in reports]
    max_score = max((float(r["max_score"]) for r in reports), default=100.0)
    buckets = Counter(min(int(s * 10 // max_score), 9) if s < max_score else 10 for s in scores)
    failed = Counter(c["id"] for r in reports for c in r["checks"] if not c["passed"])
    accuracies = [r["metrics"].get("test_accuracy") for r in reports]
    accuracies = [a for a in accuracies if a is not None]
    threshold = next((r["metrics"].get("accuracy_threshold") for r in reports
                      if r["metrics"].get("accuracy_threshold") is not None), None)
    slowest = sorted(records, key=lambda r: (-float(r.get("seconds") or 0), r["student"]))[:TOP]
    did_not_run = [r["student"] for r in records if _runs_failed(r["report"])]
    return {
        "submissions": len(records),
        "max_score": max_score,
        "mean": round(statistics.fmean(scores), 2) if scores else None,
        "median": statistics.median(scores) if scores else None,
        "min": min(scores, default=None),
        "max": max(scores, default=None),
        "full_marks": sum(1 for s in scores if s >= max_score),
        "distribution": {_bucket_label(b, max_score): buckets.get(b, 0) for b in range(11)},
        "most_failed": [{"check": c, "failed": n} for c, n in
                        sorted(failed.items(), key=lambda item: (-item[1], item[0]))[:TOP]],
        "slowest": [{"student": r["student"], "seconds": r.get("seconds"),
                     "score": r["report"]["score"], "runs": _runs_message(r["report"])}
                    for r in slowest],
        "did_not_run": did_not_run,
        "accuracy": {"graded": len(accuracies), "threshold": threshold,
                     "mean": round(statistics.fmean(accuracies), 4) if accuracies else None,
                     "below_threshold": sum(1 for a in accuracies
                                            if threshold is not None and a <= threshold)},
    }


def _bucket_label(bucket: int, max_score: float) -> str:
    if bucket == 10:
        return f"{max_score:g}"
    low = max_score * bucket / 10
    return f"{low:g}-{max_score * (bucket + 1) / 10:g}"


def _runs_check(report: dict) -> dict:
    return next((c for c in report["checks"] if c["id"] == "runs"), {"passed": True, "message": ""})


def _runs_failed(report: dict) -> bool:
    return not _runs_check(report)["passed"]


def _runs_message(report: dict) -> str:
    check = _runs_check(report)
    return "ran" if check["passed"] else check["message"][:120]


def render(summary: dict, *, graded_now: int, reused: int, seconds: float, workers: str) -> str:
    """The summary as text for the terminal and ``summary.txt``."""
    n = summary["submissions"]
    lines = [f"{n} submissions: {graded_now} graded in this run, {reused} unchanged since an "
             f"earlier run ({seconds:.0f} s, {workers})"]
    if not n:
        return lines[0]
    lines.append(f"Scores: mean {summary['mean']:g}, median {summary['median']:g}, "
                 f"min {summary['min']:g}, max {summary['max']:g}; "
                 f"{summary['full_marks']} with full marks")
    widest = max(summary["distribution"].values()) or 1
    lines.append("Distribution:")
    for label, count in summary["distribution"].items():
        lines.append(f"  {label:>8}  {'#' * round(30 * count / widest):<30} {count}")
    if summary["most_failed"]:
        lines.append("Most-failed checks: " + ", ".join(
            f"{item['check']} ({item['failed']}/{n})" for item in summary["most_failed"]))
    lines.append("Slowest submissions: " + "; ".join(
        f"{item['student']} {item['seconds'] or 0:.1f} s ({item['runs']})"
        for item in summary["slowest"]))
    if summary["did_not_run"]:
        lines.append(f"Did not run to completion ({len(summary['did_not_run'])}): "
                     + ", ".join(summary["did_not_run"][:20])
                     + (" ..." if len(summary["did_not_run"]) > 20 else ""))
    accuracy = summary["accuracy"]
    if accuracy["graded"]:
        lines.append(f"Grader's accuracy: mean {accuracy['mean']:.4f} over {accuracy['graded']} "
                     f"retrained models; {accuracy['below_threshold']} at or below the threshold "
                     f"{accuracy['threshold']}")
    return "\n".join(lines)


def plot(records: list[dict], path: Path) -> Path | None:
    """Histograms of the scores and of the grader's accuracy, as a PNG; None without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    reports = [r["report"] for r in records]
    scores = [float(r["score"]) for r in reports]
    accuracies = [r["metrics"]["test_accuracy"] for r in reports
                  if r["metrics"].get("test_accuracy") is not None]
    threshold = next((r["metrics"].get("accuracy_threshold") for r in reports), None)
    max_score = max((float(r["max_score"]) for r in reports), default=100.0)
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.hist(scores, bins=[max_score * i / 20 for i in range(21)], color="#4c72b0",
              edgecolor="white")
    left.set(title=f"Scores ({len(scores)} submissions)", xlabel="score", ylabel="submissions")
    right.hist(accuracies, bins=20, range=(0.4, 1.0), color="#55a868", edgecolor="white")
    if threshold is not None:
        right.axvline(threshold, color="#c44e52", linestyle="--", label=f"threshold {threshold}")
        right.legend()
    right.set(title=f"Grader's test accuracy ({len(accuracies)} retrained)",
              xlabel="test accuracy", ylabel="submissions")
    figure.tight_layout()
    figure.savefig(path, dpi=100, metadata={"Software": None})
    plt.close(figure)
    return path
