"""The similarity section as text: the command's output and a part of the batch's summary.txt.

Only formats a finished ``grader.core.similarity.Result``; ids are cleaned of control characters.
"""

from __future__ import annotations

from grader.reporters.page import clean
from grader.core.similarity import Result

TOP = 10


def render(result: Result, top: int = TOP) -> str:
    settings = result.settings
    flagged = result.flagged()
    lines = [f"Similarity: {len(result.students)} submissions, {len(result.pairs)} pairs at or "
             f"above the floor {float(settings['floor']):g}, {len(flagged)} flagged at or above "
             f"the threshold {float(settings['threshold']):g} (evidence to look at, not a verdict)"]
    width = max([len(clean(p.a, 30)) + len(clean(p.b, 30)) for p in flagged[:top]] + [0]) + 3
    for pair in flagged[:top]:
        names = f"{clean(pair.a, 30)} ~ {clean(pair.b, 30)}"
        shared = "; ".join(f"{clean(s.label, 60)} ({s.students}/{len(result.students)})"
                           for s in pair.shared[:3])
        lines.append(f"  {pair.score:.2f}  {names:<{width}} code {pair.code_score:.2f}  "
                     f"architecture {pair.architecture_score:.2f}"
                     + (f"  shared: {shared}" if shared else ""))
    if len(flagged) > top:
        lines.append(f"  ... {len(flagged) - top} more flagged pairs in similarity.csv")
    if result.clusters:
        lines.append("Clusters: " + "; ".join(_cluster(c) for c in result.clusters[:20])
                     + (f"; ... {len(result.clusters) - 20} more" if len(result.clusters) > 20
                        else ""))
    lines += [f"Note: {clean(note, 300)}" for note in result.notes]
    return "\n".join(lines)


def _cluster(members: tuple[str, ...], shown: int = 12) -> str:
    more = f", ... {len(members) - shown} more" if len(members) > shown else ""
    return "{" + ", ".join(clean(m, 30) for m in members[:shown]) + more + "}"
