"""Working days on the Chinese calendar: holidays, 调休, fallback years, data files."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest

from bot.statutory import statutory_days_off
from bot.workdays import CalendarFileError, WorkCalendar

SH = ZoneInfo("Asia/Shanghai")


def at(y: int, m: int, d: int, hh: int = 0, mm: int = 0, ss: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, ss, tzinfo=SH)


def eod(y: int, m: int, d: int) -> datetime:
    return at(y, m, d, 23, 59, 59)


@pytest.fixture
def cal() -> WorkCalendar:
    return WorkCalendar.load()


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 9, 11), True),  # Friday
        (date(2026, 9, 25), False),  # 中秋, a Friday
        (date(2026, 9, 26), False),  # Saturday
        (date(2026, 9, 20), True),  # Sunday, 调休 before 国庆
        (date(2026, 10, 1), False),  # 国庆
        (date(2026, 10, 7), False),  # 国庆, a Wednesday
        (date(2026, 10, 8), True),  # back to work, Thursday
        (date(2026, 10, 10), True),  # Saturday, 调休 working day
        (date(2026, 10, 11), False),  # Sunday
        (date(2026, 2, 14), True),  # Saturday, 调休 before 春节
        (date(2026, 2, 16), False),  # 春节
        (date(2026, 2, 23), False),  # 春节, a Monday
        (date(2026, 2, 24), True),
        (date(2026, 1, 1), False),  # 元旦
        (date(2026, 1, 4), True),  # Sunday, 调休
    ],
)
def test_is_workday_2026(cal: WorkCalendar, day: date, expected: bool) -> None:
    assert cal.is_workday(day) is expected


@pytest.mark.parametrize(
    ("start", "n", "deadline"),
    [
        # plain week: Monday report, day of report not counted
        (at(2026, 9, 7, 10), 1, eod(2026, 9, 8)),
        (at(2026, 9, 7, 10), 3, eod(2026, 9, 10)),
        # across a weekend: Friday + 1 → Monday
        (at(2026, 9, 11, 16), 1, eod(2026, 9, 14)),
        # report on a Saturday: counting starts with Monday
        (at(2026, 9, 12, 9), 1, eod(2026, 9, 14)),
        # the time of day does not matter: 00:00 and 23:59 give the same deadline
        (at(2026, 9, 7, 0, 0), 2, eod(2026, 9, 9)),
        (at(2026, 9, 7, 23, 59), 2, eod(2026, 9, 9)),
        # 国庆 2026: 10-01..07 off, 10-08/09 work, Saturday 10-10 is a 调休 working day
        (at(2026, 9, 30, 15), 1, eod(2026, 10, 8)),
        (at(2026, 9, 30, 15), 2, eod(2026, 10, 9)),
        (at(2026, 9, 30, 15), 3, eod(2026, 10, 10)),
        (at(2026, 9, 30, 15), 4, eod(2026, 10, 12)),
        (at(2026, 10, 3, 11), 3, eod(2026, 10, 10)),  # reported during the holiday
        (at(2026, 9, 30, 15), 20, eod(2026, 11, 3)),
        (at(2026, 9, 30, 15), 30, eod(2026, 11, 17)),
        # Sunday 09-20 is a 调休 working day: Saturday's report → Sunday
        (at(2026, 9, 19, 12), 1, eod(2026, 9, 20)),
        # 春节 2026: Saturday 02-14 works, 02-15..23 off
        (at(2026, 2, 13, 10), 1, eod(2026, 2, 14)),
        (at(2026, 2, 13, 10), 2, eod(2026, 2, 24)),
        (at(2026, 2, 13, 10), 3, eod(2026, 2, 25)),
        # n = 0: the end of the start day if it works, else of the next working day
        (at(2026, 9, 30, 15), 0, eod(2026, 9, 30)),
        (at(2026, 10, 2, 15), 0, eod(2026, 10, 8)),
    ],
)
def test_add_workdays(cal: WorkCalendar, start: datetime, n: int, deadline: datetime) -> None:
    got = cal.add_workdays(start, n)
    assert got == deadline
    assert got.tzinfo == SH
    if n:
        assert cal.workdays_between(start, got) == n


def test_add_workdays_uses_shanghai_date_for_other_zones(cal: WorkCalendar) -> None:
    # 2026-09-30 17:00 UTC is 10-01 01:00 in Shanghai: the report day is 10-01
    start = datetime(2026, 9, 30, 17, tzinfo=UTC)
    got = cal.add_workdays(start, 1)
    assert got == eod(2026, 10, 8)
    assert got.utcoffset() == SH.utcoffset(got)
    assert cal.add_workdays(datetime(2026, 9, 30, 15, tzinfo=UTC), 1) == eod(2026, 10, 8)


def test_naive_datetime_rejected(cal: WorkCalendar) -> None:
    with pytest.raises(ValueError, match="naive"):
        cal.add_workdays(datetime(2026, 9, 30, 15), 1)
    with pytest.raises(ValueError):
        cal.add_workdays(at(2026, 9, 30), -1)


@pytest.mark.parametrize(
    ("a", "b", "count"),
    [
        (date(2026, 9, 30), date(2026, 9, 30), 0),
        (date(2026, 9, 30), date(2026, 10, 7), 0),
        (date(2026, 9, 30), date(2026, 10, 11), 3),
        (date(2026, 10, 11), date(2026, 9, 30), -3),
        (date(2026, 2, 13), date(2026, 2, 27), 5),  # 14, 24, 25, 26, 27
        (date(2026, 2, 13), date(2026, 2, 28), 6),  # Saturday 02-28 is also 调休
    ],
)
def test_workdays_between(cal: WorkCalendar, a: date, b: date, count: int) -> None:
    assert cal.workdays_between(a, b) == count


@pytest.mark.parametrize(
    ("day", "nxt"),
    [
        (date(2026, 9, 30), date(2026, 10, 8)),
        (date(2026, 10, 9), date(2026, 10, 10)),
        (date(2026, 10, 10), date(2026, 10, 12)),
        (date(2026, 9, 7), date(2026, 9, 8)),  # strictly after, even from a working day
    ],
)
def test_next_workday(cal: WorkCalendar, day: date, nxt: date) -> None:
    assert cal.next_workday(day) == nxt


def test_subtract_workdays(cal: WorkCalendar) -> None:
    assert cal.subtract_workdays(eod(2026, 10, 8), 1) == eod(2026, 9, 30)
    assert cal.subtract_workdays(eod(2026, 10, 12), 2) == eod(2026, 10, 9)


# -- unknown years ------------------------------------------------------------------------


def warnings_for(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [
        r for r in caplog.records if r.name == "huiyin.workdays" and r.levelno == logging.WARNING
    ]


def test_unknown_year_skips_statutory_days_and_is_noted_once(
    cal: WorkCalendar, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="huiyin.workdays")
    assert cal.is_workday(date(2027, 1, 1)) is False  # a Friday, but 元旦 by law
    assert cal.is_workday(date(2027, 1, 2)) is False  # Saturday
    assert cal.is_workday(date(2027, 1, 4)) is True
    # 春节 2027: 除夕 2027-02-05 (Fri) to 初三 02-08 (Mon), from the lunar calendar
    assert [cal.is_workday(date(2027, 2, d)) for d in range(4, 10)] == [
        True, False, False, False, False, True,
    ]
    assert cal.is_workday(date(2027, 4, 5)) is False  # 清明, the solar term (a Monday)
    assert cal.is_workday(date(2027, 6, 9)) is False  # 端午, lunar 5/5 (a Wednesday)
    assert cal.is_workday(date(2027, 9, 15)) is False  # 中秋, lunar 8/15 (a Wednesday)
    assert cal.is_workday(date(2027, 10, 4)) is True  # only Oct 1-3 are fixed by law
    # a deadline running from late 2026 into 2027
    assert cal.add_workdays(at(2026, 12, 30, 10), 3) == eod(2027, 1, 5)
    assert cal.add_workdays(at(2026, 12, 20, 10), 20) == eod(2027, 1, 18)
    assert cal.unannounced_years == {2027}
    cal.is_workday(date(2028, 3, 1))
    assert cal.unannounced_years == {2027, 2028}
    assert warnings_for(caplog) == []  # no log warning: the dispatch chat is told once


def test_statutory_days_match_the_official_years() -> None:
    """The computed days off of 2025 and 2026 are all days off in the official data."""
    for year in (2025, 2026):
        days = statutory_days_off(year)
        assert len(days) == 13
        assert [d for d in days if chinese_calendar.is_workday(d)] == []
    assert statutory_days_off(2026)[date(2026, 2, 16)] == "春节"  # 除夕
    assert statutory_days_off(2026)[date(2026, 4, 5)] == "清明节"


OPERATOR_2027 = """
format = 1
[years.2027]
source = "test data, not the official notice"
holidays = ["2027-01-01", "2027-02-06..2027-02-12"]
workdays = [2027-02-14, "2027-02-20"]
"""


def test_operator_file_supplies_2027(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    extra = tmp_path / "holidays.toml"
    extra.write_text(OPERATOR_2027, encoding="utf-8")
    caplog.set_level(logging.WARNING, logger="huiyin.workdays")
    cal = WorkCalendar.load(extra)
    assert cal.is_workday(date(2027, 1, 1)) is False  # listed holiday beats the weekday rule
    assert cal.is_workday(date(2027, 2, 8)) is False  # inside a range
    assert cal.is_workday(date(2027, 2, 14)) is True  # Sunday 调休 (bare TOML date)
    assert cal.is_workday(date(2027, 2, 20)) is True  # Saturday 调休
    assert cal.is_workday(date(2027, 2, 21)) is False  # unlisted Sunday: weekend rule
    assert cal.is_workday(date(2027, 3, 3)) is True  # unlisted Wednesday
    # 2026-12-31 (Thu) + 1 → skips 2027-01-01 (listed) and the weekend
    assert cal.add_workdays(at(2026, 12, 31, 9), 1) == eod(2027, 1, 4)
    assert warnings_for(caplog) == []  # the operator covered 2027: no fallback


def test_operator_file_overrides_library(tmp_path: Path) -> None:
    extra = tmp_path / "fix.toml"
    extra.write_text(
        '[years.2026]\nholidays = ["2026-10-08"]\nworkdays = ["2026-10-03"]\n', encoding="utf-8"
    )
    cal = WorkCalendar.load(extra)
    assert cal.is_workday(date(2026, 10, 8)) is False
    assert cal.is_workday(date(2026, 10, 3)) is True
    assert cal.is_workday(date(2026, 10, 9)) is True  # unlisted: still the library's answer
    assert cal.is_workday(date(2026, 10, 11)) is False


def test_shipped_file_loads() -> None:
    assert WorkCalendar.load().is_workday(date(2026, 10, 10)) is True


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("[years.2027]\nholidays = ['2027-13-01']\n", "years.2027.holidays[0]"),
        ("[years.2027]\nholidays = ['2028-01-01']\n", "不在 2027 年内"),
        ("[years.2027]\nworkdays = '2027-02-14'\n", "years.2027.workdays：应为日期的列表"),
        ("[years.2027]\nholidays = ['2027-02-10..2027-02-01']\n", "结束早于开始"),
        (
            "[years.2027]\nholidays = ['2027-02-14']\nworkdays = ['2027-02-14']\n",
            "同时列为放假日和调休上班日",
        ),
        ("[years.2027]\nholiday = ['2027-02-14']\n", "years.2027.holiday：不认识的键"),
        ("[years.27]\n", "years.27：年份须是四位数字"),
        ("format = 2\n", "format"),
        ("[years.2027\n", "不是有效的 TOML"),
    ],
)
def test_bad_file_names_file_and_reason(tmp_path: Path, text: str, reason: str) -> None:
    bad = tmp_path / "broken-holidays.toml"
    bad.write_text(text, encoding="utf-8")
    with pytest.raises(CalendarFileError) as err:
        WorkCalendar.load(bad)
    assert "broken-holidays.toml" in str(err.value)
    assert reason in str(err.value)
    assert err.value.path == bad


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CalendarFileError, match="无法读取：文件不存在"):
        WorkCalendar.load(tmp_path / "nope.toml")
