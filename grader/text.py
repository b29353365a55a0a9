"""Make text that came from a submission inert before anything shows it.

A student's exception message, layer name, printed output or file name (the student id) reaches
terminals, CSV files, JSON, HTML pages and nbgrader cells. ``inert`` is the one function that
removes what a terminal or a viewer would interpret (ESC sequences, BEL, carriage returns,
bidirectional overrides, other control and format characters) and caps the length; ``csv_cell``
also stops a spreadsheet from reading a cell as a formula, and ``inert_data`` applies ``inert`` to
every string of JSON-like data (a report read back from disk). Escaping for HTML stays the HTML
reporter's job (``html.escape``).
"""

from __future__ import annotations

import functools
import math
import unicodedata

MAX_FIELD = 1000  # one message, name or line
MAX_OUTPUT = 1 << 20  # one captured stream
MAX_DATA_FIELD = 4000  # one string of a report's data (messages are cut to 2000 when scored)
_KEEP_MULTILINE = {"\n", "\t"}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _allowed(char: str, multiline: bool) -> bool:
    if multiline and char in _KEEP_MULTILINE:
        return True
    # Cc: C0/C1 controls (ESC, BEL, CR, ...); Cf: format characters (bidi overrides, zero
    # widths); Cs: lone surrogates from undecodable bytes; Co/Cn: private use and unassigned.
    return unicodedata.category(char)[0] != "C"


class _Table(dict):
    """``str.translate``'s table for one way of cleaning: each code point, kept (itself),
    replaced or dropped (None), decided by ``_allowed`` the first time it is seen. The
    translation runs in C, so megabytes of output cost milliseconds; the table keeps at most
    ``MAX_REMEMBERED`` answers (text with more distinct characters is decided again each time)."""

    MAX_REMEMBERED = 1 << 16

    def __init__(self, multiline: bool, replacement: str | None):
        super().__init__()
        self.multiline, self.replacement = multiline, replacement

    def __missing__(self, point: int):
        char = chr(point)
        if _allowed(char, self.multiline):
            out = point
        elif self.replacement is not None:
            out = self.replacement
        elif not self.multiline and char in "\n\t\r":
            out = " "
        else:
            out = None
        if len(self) < self.MAX_REMEMBERED:
            self[point] = out
        return out


@functools.lru_cache(maxsize=8)
def _table(multiline: bool, replacement: str | None) -> _Table:
    return _Table(multiline, replacement)


def inert(value: object, limit: int = MAX_FIELD, *, multiline: bool = False,
          replacement: str | None = None) -> str:
    """``value`` as text with no control or format characters, at most ``limit`` characters.

    Args:
        value: anything; non-strings become their ``str``.
        limit: the cap; longer text is cut and ends with an ellipsis.
        multiline: keep newlines and tabs (captured output); otherwise they become spaces.
        replacement: put this in place of each removed character (``"\\ufffd"`` keeps the
            positions of the others, for highlighting spans); default: drop it.
    """
    try:
        text = value if isinstance(value, str) else str(value)
    except Exception:  # noqa: BLE001 - a __str__ that raises is still shown as something
        text = f"<{type(value).__name__}>"
    if len(text) > 4 * limit:  # never walk megabytes of text to keep a few hundred characters
        text = text[: 4 * limit]
    cleaned = text.translate(_table(multiline, replacement))
    return cleaned if len(cleaned) <= limit else cleaned[: max(0, limit - 1)] + "…"


def csv_cell(value: object, limit: int = MAX_FIELD) -> str:
    """A CSV cell a spreadsheet shows as text: inert, and never starting like a formula."""
    text = inert(value, limit)
    return "'" + text if text.startswith(_FORMULA_START) else text


def inert_data(value, *, keep: frozenset[str] = frozenset(), depth: int = 0):
    """JSON-like ``value`` with every string (keys too) made ``inert`` and every number that is
    not finite (NaN, infinities, integers past 2**63) replaced by None; tuples become lists.
    Strings under a key in ``keep`` (base64 images, already validated where read) stay as they
    are; anything else that is not JSON (and nesting past 32 levels) becomes None."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value if abs(value) < 2**63 else None
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        return inert(value, MAX_DATA_FIELD, multiline=True)
    if depth >= 32:
        return None
    if isinstance(value, (list, tuple)):
        return [inert_data(item, keep=keep, depth=depth + 1) for item in value]
    if isinstance(value, dict):
        return {inert(k, 200): (v if k in keep and isinstance(v, str)
                                else inert_data(v, keep=keep, depth=depth + 1))
                for k, v in value.items()}
    return None
