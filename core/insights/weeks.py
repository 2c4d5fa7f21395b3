"""ISO weeks as the weekly digest counts them: Monday 00:00 UTC to the next Monday, named
``2026-W49`` (ISO 8601), so a tenant gets one digest per week whatever its time zone."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from core.errors import BadInput

WEEK_PATTERN = re.compile(r"(\d{4})-W(\d{2})")


@dataclass(frozen=True, order=True)
class IsoWeek:
    year: int
    week: int

    @property
    def label(self) -> str:
        return f"{self.year}-W{self.week:02d}"

    @property
    def start(self) -> datetime:
        return datetime.combine(date.fromisocalendar(self.year, self.week, 1), datetime.min.time(), UTC)

    @property
    def end(self) -> datetime:
        """The next Monday 00:00 UTC (exclusive)."""
        return self.start + timedelta(weeks=1)

    def previous(self, weeks: int = 1) -> IsoWeek:
        return week_of(self.start - timedelta(weeks=weeks))


def week_of(moment: datetime) -> IsoWeek:
    """The ISO week ``moment`` (any zone; naive is read as UTC) falls in."""
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    year, week, _ = moment.isocalendar()
    return IsoWeek(year, week)


def last_complete_week(now: datetime) -> IsoWeek:
    """The week before the one ``now`` is in: the latest a digest can be complete for."""
    return week_of(now).previous()


def parse_week(text: str) -> IsoWeek:
    """``2026-W49`` as an :class:`IsoWeek`, or :class:`BadInput` saying what is expected."""
    found = WEEK_PATTERN.fullmatch(text.strip()) if isinstance(text, str) else None
    if found is None:
        raise BadInput(f"week must look like 2026-W49, not {str(text)[:40]!r}", field="week")
    year, week = int(found.group(1)), int(found.group(2))
    try:
        date.fromisocalendar(year, week, 1)
    except ValueError:
        raise BadInput(f"{year} has no ISO week {week}", field="week") from None
    if year < 2000:
        raise BadInput("week must be in the year 2000 or later", field="week")
    return IsoWeek(year, week)
