"""The end of a batch: score distribution, most-failed checks, slowest submissions, a plot.

Works on batch records (``{"student", "report": Report.to_dict(), "seconds", "final"}``), as the
batch keeps them on disk. ``lines`` gives styled rich lines (``render`` the same as plain text,
for ``summary.txt``). Matplotlib is imported only by ``plot``.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from pathlib import Path

from rich.text import Text

from grader.reporters import shown_dict
from grader.text import inert

TOP = 5
BUCKETS = 10


def summarize(records: list[dict]) -> dict:
    """Figures for the summary (plain data: written as ``summary.json``)."""
    records = [{**r, "student": inert(r.get("student"), 200), "report": shown_dict(r.get("report")),
                "seconds": _number(r.get("seconds"))} for r in records]
    reports = [r["report"] for r in records]
    scores = [r["score"] for r in reports]
    max_score = max((r["max_score"] for r in reports), default=100.0)
    buckets = Counter(_bucket(s, max_score) for s in scores)
    integral = all(float(c["max_score"]).is_integer() for r in reports for c in r["checks"])
    failed = Counter(c["id"] for r in reports for c in r["checks"] if not c["passed"])
    accuracies = [_number(r["metrics"].get("test_accuracy")) for r in reports]
    accuracies = [a for a in accuracies if a is not None]
    threshold = next((_number(r["metrics"].get("accuracy_threshold")) for r in reports
                      if _number(r["metrics"].get("accuracy_threshold")) is not None), None)
    slowest = sorted(records, key=lambda r: (-(r["seconds"] or 0), r["student"]))[:TOP]
    did_not_run = [r["student"] for r in records if _runs_failed(r["report"])]
    return {
        "submissions": len(records),
        "max_score": max_score,
        "mean": _mean(scores, 2),
        "median": statistics.median(scores) if scores else None,
        "min": min(scores, default=None),
        "max": max(scores, default=None),
        "full_marks": sum(1 for s in scores if s >= max_score),
        "distribution": {_bucket_label(b, max_score, integral): buckets.get(b, 0)
                         for b in range(BUCKETS)},
        "most_failed": [{"check": c, "failed": n} for c, n in
                        sorted(failed.items(), key=lambda item: (-item[1], item[0]))[:TOP]],
        "slowest": [{"student": r["student"], "seconds": r.get("seconds"),
                     "score": r["report"]["score"], "runs": _runs_message(r["report"])}
                    for r in slowest],
        "did_not_run": did_not_run,
        "accuracy": {"graded": len(accuracies), "threshold": threshold,
                     "mean": _mean(accuracies, 4),
                     "below_threshold": sum(1 for a in accuracies
                                            if threshold is not None and a <= threshold)},
    }


def _number(value) -> float | None:
    """A finite number of a record (read back from disk), else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _bucket(score: float, max_score: float) -> int:
    """Ten equal buckets; the last one holds its upper end (full marks) too."""
    share = score / max_score * BUCKETS if max_score > 0 else 0.0
    return max(0, min(int(share), BUCKETS - 1)) if math.isfinite(share) else 0


def _mean(values: list[float], digits: int) -> float | None:
    """The rounded mean, or None without values (or when they overflow a float's range)."""
    try:
        return round(statistics.fmean(values), digits) if values else None
    except OverflowError:
        return None


def _bucket_label(bucket: int, max_score: float, integral: bool) -> str:
    """"90-100" holds 90 to 100 inclusive; the others their lower end up to the next bucket's:
    "80-89" when every score is a whole number, "80-<90" otherwise."""
    low, high = max_score * bucket / BUCKETS, max_score * (bucket + 1) / BUCKETS
    if bucket == BUCKETS - 1:
        return f"{low:g}-{high:g}"
    if integral and low.is_integer() and high.is_integer():
        return f"{low:g}-{high - 1:g}"
    return f"{low:g}-<{high:g}"


def _runs_check(report: dict) -> dict:
    return next((c for c in report["checks"] if c["id"] == "runs"), {"passed": True, "message": ""})


def _runs_failed(report: dict) -> bool:
    return not _runs_check(report)["passed"]


def _runs_message(report: dict) -> str:
    """"ran", else why not in a few words ("crashed at line 35 (KeyError)", "timed out (40 s)")."""
    check = _runs_check(report)
    return "ran" if check["passed"] else (report.get("reason") or check["message"][:120])


def plain(text: str, style: str = "") -> Text:
    """One summary line (styled on a terminal), inert: it may name students (file names)."""
    return Text(inert(text, 20000), style)


def lines(summary: dict, *, graded_now: int, reused: int, seconds: float,
          workers: str) -> list[Text]:
    """The summary as styled lines for the terminal (``Text.plain`` is ``summary.txt``'s)."""
    n = summary["submissions"]
    out = [Text(f"{n} submissions: {graded_now} graded in this run, {reused} unchanged since an "
                f"earlier run ({seconds:.0f} s, {workers})", "bold")]
    if not n:
        return out
    out.append(Text(f"Scores: mean {summary['mean'] or 0:g}, median {summary['median']:g}, "
                    f"min {summary['min']:g}, max {summary['max']:g}; "
                    f"{summary['full_marks']} with full marks"))
    widest = max(summary["distribution"].values()) or 1
    out.append(Text("Distribution:"))
    label_width = max(len(label) for label in summary["distribution"])
    for label, count in summary["distribution"].items():
        out.append(Text.assemble(f"  {label:>{label_width}}  ",
                                 (f"{'#' * round(30 * count / widest):<30}", "cyan"), f" {count}"))
    if summary["most_failed"]:
        out.append(Text("Most-failed checks: " + ", ".join(
            f"{item['check']} ({item['failed']}/{n})" for item in summary["most_failed"])))
    out.append(Text("Slowest submissions: " + "; ".join(
        f"{item['student']} {item['seconds'] or 0:.1f} s ({item['runs']})"
        for item in summary["slowest"])))
    if summary["did_not_run"]:
        out.append(Text(f"Did not run to completion ({len(summary['did_not_run'])}): "
                        + ", ".join(summary["did_not_run"][:20])
                        + (" ..." if len(summary["did_not_run"]) > 20 else ""), "red"))
    accuracy = summary["accuracy"]
    if accuracy["graded"]:
        out.append(Text(f"Grader's accuracy: mean {accuracy['mean'] or 0:.4f} over "
                        f"{accuracy['graded']} retrained models; {accuracy['below_threshold']} at "
                        f"or below the threshold {accuracy['threshold']}"))
    return out


def render(summary: dict, *, graded_now: int, reused: int, seconds: float, workers: str) -> str:
    """The summary as plain text (``summary.txt``)."""
    return "\n".join(line.plain for line in lines(summary, graded_now=graded_now, reused=reused,
                                                   seconds=seconds, workers=workers))


def plot(records: list[dict], path: Path) -> Path | None:
    """Histograms of the scores and of the grader's accuracy, as a PNG; None without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    reports = [shown_dict(r.get("report")) for r in records]
    scores = [r["score"] for r in reports]
    accuracies = [a for a in (_number(r["metrics"].get("test_accuracy")) for r in reports)
                  if a is not None]
    threshold = next((_number(r["metrics"].get("accuracy_threshold")) for r in reports), None)
    max_score = max((r["max_score"] for r in reports), default=100.0)
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
