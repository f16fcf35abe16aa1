"""Working days on the Chinese calendar: statutory holidays and make-up working days (调休).

Where a day's status comes from, first match wins:

1. the data files: the shipped ``bot/data/holidays.toml``, then the operator's file (which
   overrides the shipped one day by day). A file lists, per year, the days off (``holidays``)
   and the make-up working days (``workdays``). Days of a listed year that the file does not
   mention follow the library if it knows the year, else the plain weekend rule;
2. the ``chinese_calendar`` library (1.11.0 knows 2004–2026);
3. the fallback for a year the library does not know: Monday–Friday work, Saturday/Sunday
   off, minus the statutory days off that the law itself fixes (``bot.statutory``: 元旦, 春节
   from the lunar calendar, 清明 from the solar term, 劳动节, 端午, 中秋, 国庆). Only that
   year's 调休 (extra days off joined to them, weekend days worked) is unknown until an
   operator adds it to a data file; ``unannounced_years`` names the years that needed the
   fallback, so the dispatch chat can be told once.

The deadline rule (what a resident is told): **"within n working days" ends at 24:00 (stored as
23:59:59 Asia/Shanghai) of the n-th working day after the day of the report.** The day of the
report never counts, whatever the clock time and whether or not it is a working day, as in
Chinese law (期间开始的当日不计入, 最后一日截止到二十四时). A report at 2026-09-30 15:00 with
3 working days is due 2026-10-10 24:00: 10-01..07 are 国庆 holidays, 10-08 and 10-09 are working
days 1 and 2, and Saturday 10-10 is a 调休 working day, number 3.

Times are timezone-aware; any zone is accepted, results are in Asia/Shanghai, and a datetime's
day is its Asia/Shanghai date.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import chinese_calendar

from bot.datafiles import read_toml
from bot.errors import CalendarFileError, DataFileError
from bot.statutory import statutory_days_off

__all__ = [
    "BUSINESS_TZ",
    "DATA_DIR",
    "END_OF_DAY",
    "CalendarFileError",
    "DataFileError",
    "WorkCalendar",
    "end_of_day",
    "local_date",
]

BUSINESS_TZ = ZoneInfo("Asia/Shanghai")
END_OF_DAY = time(23, 59, 59)
DATA_DIR = Path(__file__).parent / "data"
SHIPPED_HOLIDAYS = DATA_DIR / "holidays.toml"

log = logging.getLogger("huiyin.workdays")


def _require_aware(dt: datetime) -> datetime:
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"naive datetime {dt.isoformat()}: give a timezone-aware datetime")
    return dt.astimezone(BUSINESS_TZ)


def local_date(value: date | datetime) -> date:
    """Return the Asia/Shanghai calendar date of an aware datetime (a date is returned as is)."""
    if isinstance(value, datetime):
        return _require_aware(value).date()
    return value


def end_of_day(d: date) -> datetime:
    """Return 23:59:59 Asia/Shanghai on day ``d``: the end of a working-day deadline."""
    return datetime.combine(d, END_OF_DAY, tzinfo=BUSINESS_TZ)


def _parse_day(raw: object, where: str, path: Path) -> date:
    if isinstance(raw, datetime):
        raise CalendarFileError(path, f"{where}：{raw!r} 带有时间，请只写日期（YYYY-MM-DD）")
    if isinstance(raw, date):
        return raw
    if isinstance(raw, str):
        try:
            return date.fromisoformat(raw.strip())
        except ValueError:
            pass
    raise CalendarFileError(path, f"{where}：{raw!r} 不是日期（应为 YYYY-MM-DD）")


def _parse_days(raw: object, year: int, where: str, path: Path) -> list[date]:
    """Parse a list of dates and 'YYYY-MM-DD..YYYY-MM-DD' ranges, all inside ``year``."""
    if not isinstance(raw, list):
        raise CalendarFileError(path, f"{where}：应为日期的列表，实际是 {raw!r}")
    days: list[date] = []
    for i, item in enumerate(raw):
        at = f"{where}[{i}]"
        if isinstance(item, str) and ".." in item:
            first_raw, _, last_raw = item.partition("..")
            first = _parse_day(first_raw, at, path)
            last = _parse_day(last_raw, at, path)
            if last < first:
                raise CalendarFileError(path, f"{at}：日期范围 {item!r} 的结束早于开始")
            span = [first + timedelta(days=k) for k in range((last - first).days + 1)]
        else:
            span = [_parse_day(item, at, path)]
        for d in span:
            if d.year != year:
                raise CalendarFileError(path, f"{at}：{d.isoformat()} 不在 {year} 年内")
        days.extend(span)
    return days


def _read_file(path: Path) -> tuple[dict[date, bool], set[int]]:
    """Read one holidays file into ({day: is_workday}, years listed); raise if malformed."""
    doc = read_toml(path, CalendarFileError)
    unknown = sorted(set(doc) - {"format", "years"})
    if unknown:
        raise CalendarFileError(path, f"{unknown[0]}：不认识的键（可用：format、years）")
    if doc.get("format", 1) != 1:
        raise CalendarFileError(path, f"format：不支持的格式版本 {doc['format']!r}（应为 1）")
    years = doc.get("years", {})
    if not isinstance(years, dict):
        raise CalendarFileError(path, "years：应为 [years.YYYY] 形式的表")
    status: dict[date, bool] = {}
    listed: set[int] = set()
    for key, section in years.items():
        where = f"years.{key}"
        if not (key.isdigit() and len(key) == 4):
            raise CalendarFileError(path, f"{where}：年份须是四位数字，例如 2027")
        if not isinstance(section, dict):
            raise CalendarFileError(path, f"{where}：应为含 holidays、workdays 的表")
        extra = sorted(set(section) - {"holidays", "workdays", "source"})
        if extra:
            raise CalendarFileError(
                path, f"{where}.{extra[0]}：不认识的键（可用：holidays、workdays、source）"
            )
        year = int(key)
        listed.add(year)
        off = _parse_days(section.get("holidays", []), year, f"{where}.holidays", path)
        on = _parse_days(section.get("workdays", []), year, f"{where}.workdays", path)
        both = sorted(set(off) & set(on))
        if both:
            raise CalendarFileError(
                path, f"{where}：{both[0].isoformat()} 同时列为放假日和调休上班日"
            )
        status.update(dict.fromkeys(off, False))
        status.update(dict.fromkeys(on, True))
    return status, listed


class WorkCalendar:
    """Which days are working days, and deadline arithmetic over them."""

    def __init__(
        self,
        overrides: Mapping[date, bool] | None = None,
        known_years: frozenset[int] = frozenset(),
    ) -> None:
        """Build from {day: is_workday} overrides and the years those overrides fully cover."""
        self._overrides: dict[date, bool] = dict(overrides or {})
        self._known_years = frozenset(known_years) | {d.year for d in self._overrides}
        self._library_years: dict[int, bool] = {}
        self.unannounced_years: set[int] = set()
        """Years whose 调休 nobody has given: deadlines in them skip statutory days only."""

    @classmethod
    def load(cls, extra_file: Path | None = None) -> WorkCalendar:
        """Load the shipped holidays file and, if given, an operator file that overrides it."""
        overrides: dict[date, bool] = {}
        years: set[int] = set()
        for path in (SHIPPED_HOLIDAYS, extra_file):
            if path is None:
                continue
            status, listed = _read_file(path)
            overrides.update(status)
            years |= listed
        return cls(overrides, frozenset(years))

    # -- what a day is --------------------------------------------------------------------

    def _library_knows(self, year: int) -> bool:
        known = self._library_years.get(year)
        if known is None:
            try:
                chinese_calendar.is_workday(date(year, 6, 1))
                known = True
            except NotImplementedError:
                known = False
            self._library_years[year] = known
        return known

    def is_workday(self, d: date) -> bool:
        """Return True if ``d`` is a working day (调休 Saturdays included, holidays excluded)."""
        if isinstance(d, datetime):
            d = local_date(d)
        listed = self._overrides.get(d)
        if listed is not None:
            return listed
        if self._library_knows(d.year):
            return bool(chinese_calendar.is_workday(d))
        if d.year not in self._known_years and d.year not in self.unannounced_years:
            self.unannounced_years.add(d.year)
            log.info(
                "no 调休 data for %d: counting Monday-Friday minus the statutory days off",
                d.year,
            )
        return d.weekday() < 5 and d not in statutory_days_off(d.year)

    def statutory_holiday(self, d: date | datetime) -> str | None:
        """Return the name of the statutory holiday ``d`` is a day off of (元旦, 春节, …), or None.

        Only the days the law itself fixes (``bot.statutory``), in any year: the days the State
        Council joins to them by 调休 and ordinary weekends are days off, not statutory holidays.
        """
        d = local_date(d)
        return statutory_days_off(d.year).get(d)

    def past_statutory_holidays(self, moment: datetime) -> datetime:
        """Return ``moment``, or the same clock time of the first day after the statutory
        holiday its day falls on (a clock-hour deadline never names a holiday)."""
        local = _require_aware(moment)
        while self.statutory_holiday(local) is not None:
            local = datetime.combine(local.date() + timedelta(days=1), local.timetz())
        return local

    def next_workday(self, d: date) -> date:
        """Return the first working day strictly after ``d``."""
        d = local_date(d)
        while True:
            d += timedelta(days=1)
            if self.is_workday(d):
                return d

    def previous_workday(self, d: date) -> date:
        """Return the last working day strictly before ``d``."""
        d = local_date(d)
        while True:
            d -= timedelta(days=1)
            if self.is_workday(d):
                return d

    # -- deadline arithmetic --------------------------------------------------------------

    def add_workdays(self, start: datetime, n: int) -> datetime:
        """Return 23:59:59 Asia/Shanghai of the n-th working day after start's day (n >= 0)."""
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        day = local_date(_require_aware(start))
        if n == 0:
            return end_of_day(day if self.is_workday(day) else self.next_workday(day))
        for _ in range(n):
            day = self.next_workday(day)
        return end_of_day(day)

    def subtract_workdays(self, moment: datetime, n: int) -> datetime:
        """Return 23:59:59 of the n-th working day before moment's day (n >= 1)."""
        if n < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        day = local_date(_require_aware(moment))
        for _ in range(n):
            day = self.previous_workday(day)
        return end_of_day(day)

    def workdays_between(self, a: date | datetime, b: date | datetime) -> int:
        """Count working days after a's day up to and including b's day (negative if b < a)."""
        first, last = local_date(a), local_date(b)
        sign = 1
        if last < first:
            first, last, sign = last, first, -1
        count = 0
        day = first + timedelta(days=1)
        while day <= last:
            count += self.is_workday(day)
            day += timedelta(days=1)
        return sign * count
