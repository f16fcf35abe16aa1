"""Reporting periods on Beijing dates: a week, a month, a monthly cycle, or any range.

A `Period` is a half-open range of days ``[start, end)``; `bounds()` gives the UTC instants a
query needs. Weeks start on Monday; a cycle starting on the 19th runs from the 19th of one
month to the 18th of the next.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

BEIJING = ZoneInfo("Asia/Shanghai")
KINDS = ("week", "month", "cycle", "custom")


@dataclass(frozen=True, slots=True)
class Period:
    """Days ``start`` (included) to ``end`` (excluded), with the kind that produced them."""

    kind: str
    start: date
    end: date

    @property
    def last_day(self) -> date:
        """The last day inside the period."""
        return self.end - timedelta(days=1)

    def bounds(self) -> tuple[datetime, datetime]:
        """The period as UTC instants ``[from, to)``."""
        return _utc(self.start), _utc(self.end)

    def contains(self, at: datetime) -> bool:
        """Tell whether an instant falls in the period (on Beijing's calendar)."""
        low, high = self.bounds()
        return low <= at < high

    def label(self) -> str:
        """A short label for file names and headings, e.g. 2026-11-19_2026-12-18."""
        return f"{self.start.isoformat()}_{self.last_day.isoformat()}"

    def previous(self, cycle_start_day: int = 1) -> Period:
        """The period of the same kind just before this one."""
        before = self.start - timedelta(days=1)
        if self.kind == "week":
            return week_of(before)
        if self.kind == "month":
            return month_of(before)
        if self.kind == "cycle":
            return cycle_of(before, cycle_start_day)
        return Period("custom", self.start - (self.end - self.start), self.start)


def _utc(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=BEIJING).astimezone(UTC)


def beijing_day(at: datetime) -> date:
    """The Beijing calendar day of an instant."""
    return at.astimezone(BEIJING).date()


def week_of(day: date) -> Period:
    """The Monday-to-Sunday week holding `day`."""
    start = day - timedelta(days=day.weekday())
    return Period("week", start, start + timedelta(days=7))


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return day.replace(year=index // 12, month=index % 12 + 1)


def month_of(day: date) -> Period:
    """The calendar month holding `day`."""
    start = day.replace(day=1)
    return Period("month", start, _add_months(start, 1))


def cycle_of(day: date, start_day: int) -> Period:
    """The monthly cycle holding `day`, each cycle starting on `start_day` (1–28)."""
    start = day.replace(day=start_day)
    if day.day < start_day:
        start = _add_months(start, -1)
    return Period("cycle", start, _add_months(start, 1))


def custom(first: date, last: date) -> Period:
    """The days `first` to `last`, both included."""
    if last < first:
        raise ValueError("the last day is before the first")
    return Period("custom", first, last + timedelta(days=1))


def current(kind: str, today: date, cycle_start_day: int = 1) -> Period:
    """The period of this kind holding `today` (custom ranges are not current: a week)."""
    if kind == "month":
        return month_of(today)
    if kind == "cycle":
        return cycle_of(today, cycle_start_day)
    return week_of(today)
