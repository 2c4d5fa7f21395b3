"""Timestamps as exports write them: ISO 8601 or unix epoch seconds; a naive time is UTC.

Helpdesk exports disagree on the format (Zendesk writes ISO 8601 with "Z", spreadsheet exports drop
the zone, some tools write epoch seconds), so both are accepted and nothing else is guessed at:
"05/01/2026" is refused rather than read as the 5th of January or the 1st of May.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

_EPOCH = re.compile(r"[+-]?\d+(?:\.\d+)?")


def parse_timestamp(value: str) -> datetime:
    """An aware UTC datetime, or ValueError saying what was expected."""
    text = value.strip()
    if _EPOCH.fullmatch(text):
        try:
            return datetime.fromtimestamp(float(text), tz=UTC)
        except (OverflowError, OSError, ValueError) as exc:
            raise ValueError(f"{value!r} is out of range for unix epoch seconds") from exc
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"{value!r} is neither ISO 8601 (2026-01-05T10:00:00Z) nor unix epoch seconds") from exc
    try:
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{value!r} is out of range once converted to UTC") from None
