"""Make text that came from a submission inert before anything shows it.

A student's exception message, layer name or printed output reaches terminals, CSV files, JSON,
HTML pages and nbgrader cells. ``inert`` removes what a terminal or a viewer would interpret
(ESC sequences, BEL, carriage returns, bidirectional overrides, other control and format
characters) and caps the length; ``csv_cell`` also stops a spreadsheet from reading a cell as a
formula. Escaping for HTML stays the HTML reporter's job (``html.escape``).
"""

from __future__ import annotations

import unicodedata

MAX_FIELD = 1000  # one message, name or line
MAX_OUTPUT = 1 << 20  # one captured stream
_KEEP_MULTILINE = {"\n", "\t"}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _allowed(char: str, multiline: bool) -> bool:
    if multiline and char in _KEEP_MULTILINE:
        return True
    # Cc: C0/C1 controls (ESC, BEL, CR, ...); Cf: format characters (bidi overrides, zero
    # widths); Cs: lone surrogates from undecodable bytes; Co/Cn: private use and unassigned.
    return unicodedata.category(char)[0] != "C"


def inert(value: object, limit: int = MAX_FIELD, *, multiline: bool = False) -> str:
    """``value`` as text with no control or format characters, at most ``limit`` characters.

    Args:
        value: anything; non-strings become their ``str``.
        limit: the cap; longer text is cut and ends with an ellipsis.
        multiline: keep newlines and tabs (captured output); otherwise they become spaces.
    """
    text = value if isinstance(value, str) else str(value)
    if len(text) > 4 * limit:  # never walk megabytes of text to keep a few hundred characters
        text = text[: 4 * limit]
    out = []
    for char in text:
        if _allowed(char, multiline):
            out.append(char)
        elif not multiline and char in "\n\t\r":
            out.append(" ")
    cleaned = "".join(out)
    return cleaned if len(cleaned) <= limit else cleaned[: max(0, limit - 1)] + "…"


def csv_cell(value: object, limit: int = MAX_FIELD) -> str:
    """A CSV cell a spreadsheet shows as text: inert, and never starting like a formula."""
    text = inert(value, limit)
    return "'" + text if text.startswith(_FORMULA_START) else text
