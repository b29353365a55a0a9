"""The wire format of the probe's event channel: signed, numbered JSON lines.

Stdlib only: the probe imports this before any student code runs. The supervisor sends a fresh
random key as the first bytes on the channel (a socket pair); the probe reads it before the
student's code starts, keeps it only inside an HMAC object, and signs every event with a sequence
number. So a line that the script writes into the channel itself (through the probe's objects,
the raw descriptor or ``/proc/self/fd``) carries no valid signature, a replayed line repeats a
sequence number, and the supervisor reports either as tampering.

Line format: ``<hex HMAC-SHA256 of the JSON> <JSON object with "seq" and "event">\\n``.
"""

from __future__ import annotations

import hmac
import json

KEY_BYTES = 32
MAC_HEX = 64
# What one "figure" event may carry: at most MAX_FIGURES of them, each a PNG of at most
# MAX_PNG_BYTES (sent base64, so a line stays well under the supervisor's MAX_EVENT_BYTES).
MAX_FIGURES = 6
MAX_PNG_BYTES = 400 * 1024
_dumps = json.dumps  # bound at import, before any student code


class ChannelError(ValueError):
    """A line that the probe did not write (or that is out of order)."""


def new_signer(key: bytes):
    """An HMAC object keyed with ``key``; ``sign`` copies it for every line."""
    return hmac.new(key, digestmod="sha256")


def sign(signer, seq: int, event: str, fields: dict, default=None) -> bytes:
    """One signed line for ``event`` (raises TypeError/ValueError if ``fields`` cannot be JSON)."""
    payload = _dumps({"seq": seq, "event": event, **fields}, default=default,
                         allow_nan=True).encode("utf-8")
    mac = signer.copy()
    mac.update(payload)
    return mac.hexdigest().encode("ascii") + b" " + payload + b"\n"


def verify(key: bytes, line: bytes, expected_seq: int) -> dict:
    """The event in ``line`` if the probe signed it with sequence number ``expected_seq``.

    Raises ChannelError with the reason otherwise. Decoding errors of every kind (invalid UTF-8,
    JSON nested deeper than the parser allows, huge numbers) are reasons too, never crashes.
    """
    mac, _, payload = line.partition(b" ")
    if len(mac) != MAC_HEX or not payload:
        raise ChannelError("a line without the probe's signature")
    good = hmac.new(key, payload, "sha256").hexdigest().encode("ascii")
    if not hmac.compare_digest(mac, good):
        raise ChannelError("a line with a forged signature")
    try:
        event = json.loads(payload)
    except (ValueError, RecursionError) as exc:  # signed, so the probe's own bug: not tampering
        return {"event": "unreadable", "seq": expected_seq, "detail": type(exc).__name__}
    if not isinstance(event, dict) or not isinstance(event.get("event"), str):
        return {"event": "unreadable", "seq": expected_seq, "detail": "not an event"}
    if event.get("seq") != expected_seq:
        raise ChannelError(f"a replayed or reordered line (number {event.get('seq')!r}, "
                           f"expected {expected_seq})")
    return event
