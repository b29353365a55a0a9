"""A small line-chart plotter that writes SVG text: the HTML report's learning curves.

Why not matplotlib: a report is written for every student of a batch, and these charts need
nothing but lines, axes and a legend. Writing the SVG ourselves keeps each chart a few kilobytes
(matplotlib's SVG draws every glyph as a path: tens of kilobytes), byte-identical between runs
(so two batch runs give identical pages), fast (no matplotlib import per worker) and free of any
text we did not escape. Values that are missing or not finite leave a gap in their line.
"""

from __future__ import annotations

import html
import math
from typing import Mapping, Sequence

COLOURS = ("#1f6fd1", "#e8710a", "#2e9e44", "#c0392b")
DASHES = ("", "6 4", "", "6 4")  # validation lines dashed, as in most textbooks


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """About ``count`` round tick values (1, 2 or 5 times a power of ten) covering low..high;
    just the two ends when the span is too large or too small for round steps."""
    if not high > low:
        low, high = low - 0.5, high + 0.5
    raw = (high - low) / max(1, count)
    if not (math.isfinite(raw) and raw > 0 and raw > abs(high) * 1e-12):
        return [low, high] if high > low else [low, low + 1.0]
    power = 10.0 ** math.floor(math.log10(raw))  # a float: an int power overflows later
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    ticks, k = [], math.floor(low / step)
    k -= k * step > low  # low / step may round (or underflow) up past low
    while len(ticks) < 50 and math.isfinite(k * step):
        ticks.append(float(f"{k * step:.12g}"))  # 0.30000000000000004 -> 0.3, at any scale
        if ticks[-1] >= high:
            break
        k += 1
    return ticks if len(ticks) >= 2 and ticks[0] <= low <= high <= ticks[-1] else [low, high]


def _label(value: float) -> str:
    return f"{value:.4g}"


def line_chart(series: Mapping[str, Sequence], title: str, *, x_label: str = "epoch",
               width: int = 520, height: int = 300) -> str:
    """One chart: a line per named series (index = epoch, starting at 1), axes, a legend.

    Args:
        series: name -> values (None or non-finite values leave gaps); at most four are drawn.
        title: shown above the chart and as its accessible name.
    """
    named = [(str(name), list(values)) for name, values in list(series.items())[:4]]
    points = [v for _, values in named for v in values if _finite(v)]
    esc = html.escape
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} '
            f'{height}" width="{width}" height="{height}" role="img" aria-label="{esc(title)}">'
            f'<text x="{width / 2:.0f}" y="16" text-anchor="middle" font-size="13" '
            f'font-weight="600">{esc(title)}</text>')
    if not points:
        return (head + f'<text x="{width / 2:.0f}" y="{height / 2:.0f}" text-anchor="middle" '
                f'font-size="12" fill="#666">no values recorded</text></svg>')
    epochs = max(len(values) for _, values in named)
    left, right, top, bottom = 56, 16, 28, 58
    plot_w, plot_h = width - left - right, height - top - bottom
    y_ticks = nice_ticks(min(points), max(points))
    y_low, y_high = y_ticks[0], y_ticks[-1]
    if not (math.isfinite(y_high - y_low) and y_high > y_low):  # values near the float limits
        y_low, y_high = min(points), max(points)
        if not (math.isfinite(y_high - y_low) and y_high > y_low):
            y_low, y_high = 0.0, 1.0
    x_ticks = [t for t in nice_ticks(1, max(epochs, 2)) if 1 <= t <= max(epochs, 2)
               and t == int(t)] or [1]

    def x(i: float) -> float:
        return left + (i - 1) / max(epochs - 1, 1) * plot_w

    def y(v: float) -> float:
        return top + (y_high - v) / (y_high - y_low) * plot_h

    parts = [head, f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" '
                   f'fill="#fff" stroke="#ccc"/>']
    for tick in y_ticks:
        parts.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y(tick):.1f}" '
                     f'y2="{y(tick):.1f}" stroke="#eee"/><text x="{left - 6}" '
                     f'y="{y(tick) + 4:.1f}" text-anchor="end" font-size="11" '
                     f'fill="#444">{_label(tick)}</text>')
    for tick in x_ticks:
        parts.append(f'<text x="{x(tick):.1f}" y="{top + plot_h + 15}" text-anchor="middle" '
                     f'font-size="11" fill="#444">{int(tick)}</text>')
    parts.append(f'<text x="{left + plot_w / 2:.0f}" y="{top + plot_h + 30}" '
                 f'text-anchor="middle" font-size="11" fill="#444">{esc(x_label)}</text>')
    for n, (name, values) in enumerate(named):
        runs, run = [], []
        for i, value in enumerate(values, 1):
            if _finite(value):
                run.append(f"{x(i):.1f},{y(value):.1f}")
            elif run:
                runs.append(run)
                run = []
        runs.append(run)
        dash = f' stroke-dasharray="{DASHES[n]}"' if DASHES[n] else ""
        for run in (r for r in runs if r):
            if len(run) == 1:
                cx, cy = run[0].split(",")
                parts.append(f'<circle cx="{cx}" cy="{cy}" r="2.5" fill="{COLOURS[n]}"/>')
            else:
                parts.append(f'<polyline class="series" fill="none" stroke="{COLOURS[n]}" '
                             f'stroke-width="2"{dash} points="{" ".join(run)}"/>')
        legend_x = left + n * (plot_w / max(len(named), 1))
        legend_y = height - 10
        parts.append(f'<line x1="{legend_x:.0f}" x2="{legend_x + 22:.0f}" y1="{legend_y - 4}" '
                     f'y2="{legend_y - 4}" stroke="{COLOURS[n]}" stroke-width="2"{dash}/>'
                     f'<text x="{legend_x + 27:.0f}" y="{legend_y}" font-size="11">'
                     f'{esc(name[:40])}</text>')
    return "".join(parts) + "</svg>"
