"""Time, always aware and in UTC: one helper for "now" and one for a stored or delivered moment.

SQLite hands back naive datetimes (everything was stored as UTC); helpdesks and files deliver
moments in any zone; PostgreSQL would read a naive one in its own zone. Everything Deskloop keeps
or compares goes through :func:`aware_utc` first.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import overload


def utcnow() -> datetime:
    return datetime.now(UTC)


@overload
def aware_utc(value: datetime) -> datetime: ...
@overload
def aware_utc(value: None) -> None: ...
@overload
def aware_utc(value: datetime | None) -> datetime | None: ...
def aware_utc(value: datetime | None) -> datetime | None:
    """``value`` as an aware UTC datetime: a naive one is taken as UTC, an aware one converted."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
