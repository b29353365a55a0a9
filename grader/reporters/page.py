"""What the HTML pages share: the page shell and its CSS, safe text, the architecture drawing.

Every page is one self-contained file: inline CSS, no script, no external address (fonts, images
and plots are inline); its Content-Security-Policy (``CSP``) tells the browser so, so that even a
mistake in escaping could run no script and load nothing. Everything that came from a
submission is untrusted: ``clean`` replaces control and bidirectional-override characters and
caps the length, ``escape`` also escapes it for HTML; nothing reaches a page without going
through ``escape``.
"""

from __future__ import annotations

import html
import math
from typing import Mapping, Sequence

from grader.core.similarity import ArchitectureView
from grader.text import inert

BASE_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px auto;max-width:1400px;
 padding:0 16px;color:#1d1d1f;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:32px 0 6px;padding-top:12px;
 border-top:2px solid #d8d8de}h3{font-size:14px;margin:14px 0 4px;color:#444}
.note{background:#fff8e1;border-left:4px solid #f0b429;padding:8px 12px;margin:12px 0}
.muted{color:#666}table{border-collapse:collapse;margin:8px 0}
td,th{padding:3px 10px;border-bottom:1px solid #e4e4ea;text-align:left}th{background:#f4f4f7}
td.n{text-align:right;font-variant-numeric:tabular-nums}
.flag{color:#fff;background:#c0392b;border-radius:3px;padding:0 5px;font-size:12px}
pre{background:#fafafa;border:1px solid #e0e0e6;padding:8px;overflow:auto;max-height:640px;
 font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;margin:4px 0}
.arch{border:1px solid #e0e0e6;padding:8px;background:#fcfcfd}
.layer{margin:3px auto;padding:3px 6px;border-radius:4px;text-align:center;font-size:12px;
 box-sizing:border-box;overflow-wrap:anywhere}
.dense{background:#dbe8fb;border:1px solid #7aa2dc}.drop{background:#fff;border:1px dashed #999}
.other{background:#eee;border:1px solid #bbb}
.layer.bad{border:2px solid #c0392b;background-image:linear-gradient(#fdecea,#fdecea)}
.layer .why{color:#c0392b;font-weight:600;margin-left:6px}
.rare{background:#ffd54f;font-weight:600;border-radius:3px;padding:0 2px}
.chips{margin-top:4px}.chips i{color:#666;font-size:12px;margin-right:4px}
.chips span{display:inline-block;margin:2px 4px 2px 0;padding:0 6px;border:1px solid #ddd;
 border-radius:10px;font-size:12px;background:#fff}.chips span.rare{border-color:#e0a800}
"""

# What a page may load: its own inline styles and data: images; no script, no network at all.
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

def clean(text, limit: int | None = None) -> str:
    """Untrusted text made safe to show (``grader.text.inert``): control, format (bidi),
    surrogate and unassigned characters become U+FFFD one for one (positions stay valid), then
    cut to ``limit``. Not yet escaped."""
    text = inert(text, 1 << 30) if not isinstance(text, str) else text
    return inert(text, max(1, len(text)) if limit is None else limit, multiline=True,
                 replacement="\ufffd")


def escape(text, limit: int | None = 200) -> str:
    """``text`` cleaned, capped and escaped for HTML (attribute values too)."""
    return html.escape(clean(text, limit), quote=True)


def page(title: str, body: str, css: str = "") -> str:
    """The whole document: ``title`` is escaped here; ``body`` is HTML built with ``escape``."""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<title>{escape(title)}</title><style>{BASE_CSS}{css}</style></head>
<body>
{body}
</body></html>
"""


def architecture_html(view: ArchitectureView, rare: set[str], widest: int,
                      flagged: Mapping[int, Sequence[str]] | None = None) -> str:
    """Layers as boxes (a Dense box's width grows with log2 of its units), the shared rare
    choices marked, layers that failed checks concern outlined in red with the checks' ids
    (``flagged``: layer index -> check ids); the optimizer, loss and call arguments as chips."""
    flagged = flagged or {}
    if not view.layers and not view.settings:
        return '<div class="arch muted">no architecture recorded (no model was built, or the ' \
               'report predates architecture summaries)</div>'
    boxes = []
    for index, layer in enumerate(view.layers[:60]):
        words = [escape(layer.kind, 40)] + [
            (f'<span class="rare">{escape(c.text, 60)}</span>' if c.key in rare
             else escape(c.text, 60))
            for c in layer.choices if c.text]
        units = layer.units if isinstance(layer.units, int) else 0
        if layer.kind == "Dense" and units > 0:  # a negative or zero width is drawn as other
            share = math.log2(units + 1) / math.log2(max(widest, units, 1) + 1)
            style, css = f"width:{30 + 70 * min(1.0, share):.0f}%", "dense"
        else:
            style, css = "width:45%", "drop" if "Dropout" in layer.kind else "other"
        why = ""
        if flagged.get(index):
            css += " bad"
            why = f'<span class="why">✗ {escape(", ".join(flagged[index]), 120)}</span>'
        boxes.append(f'<div class="layer {css}" style="{style}">{" · ".join(words)}{why}</div>')
    if len(view.layers) > 60:
        boxes.append(f'<div class="muted">… {len(view.layers) - 60} more layers</div>')
    groups: dict[str, list[str]] = {}
    for choice in view.settings[:80]:
        css = ' class="rare"' if choice.key in rare else ""
        groups.setdefault(choice.group, []).append(f"<span{css}>{escape(choice.text, 80)}</span>")
    chips = "".join(f'<div class="chips"><i>{escape(group, 40)}</i> {"".join(items)}</div>'
                    for group, items in groups.items())
    return f'<div class="arch">{"".join(boxes)}{chips}</div>'
