"""Deadline policy: shipped defaults, hour and working-day rules, validation, formatting."""

from __future__ import annotations

import enum
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.deadlines import (
    DEFAULT_POLICY_FILE,
    INTENTS,
    URGENCIES,
    DeadlinePolicy,
    Deadlines,
    PolicyFileError,
    format_deadline,
)
from bot.workdays import WorkCalendar

SH = ZoneInfo("Asia/Shanghai")


def at(y: int, m: int, d: int, hh: int = 0, mm: int = 0, ss: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, ss, tzinfo=SH)


def eod(y: int, m: int, d: int) -> datetime:
    return at(y, m, d, 23, 59, 59)


@pytest.fixture(scope="module")
def policy() -> DeadlinePolicy:
    return DeadlinePolicy.load()


@pytest.fixture
def cal() -> WorkCalendar:
    return WorkCalendar.load()


# Reported Wednesday 2026-09-30 15:00, the day before 国庆 (10-01..07 off, Saturday 10-10 works).
CREATED = at(2026, 9, 30, 15)
LONG = Deadlines(  # 20 workdays: 投诉, 求助, 其他
    accept_by=eod(2026, 10, 8),
    resolve_by=eod(2026, 11, 3),
    remind_at=eod(2026, 11, 2),  # 1 working day left
    escalate_at=eod(2026, 11, 5),  # 2 working days overdue
)
SHORT = Deadlines(  # 3 workdays: 咨询, 建议, 表扬
    accept_by=eod(2026, 10, 8),
    resolve_by=eod(2026, 10, 10),  # the 调休 Saturday is working day 3
    remind_at=eod(2026, 10, 9),
    escalate_at=eod(2026, 10, 13),
)
URGENT = Deadlines(  # 24 hours of the clock, but never on a statutory holiday
    accept_by=at(2026, 9, 30, 17),
    resolve_by=at(2026, 10, 4, 15),  # 10-01 15:00 is 国庆 (10-01..03): carried past it
    remind_at=at(2026, 10, 3, 15),  # 25% of the 96 h window = 24 h before
    escalate_at=at(2026, 10, 4, 19),
)
DEFAULTS = {
    ("投诉", "一般"): LONG,
    ("求助", "一般"): LONG,
    ("咨询", "一般"): SHORT,
    ("建议", "一般"): SHORT,
    ("表扬", "一般"): SHORT,
    ("其他", "一般"): LONG,
    **{(intent, "紧急"): URGENT for intent in INTENTS},
}


def test_defaults_cover_every_intent_and_urgency() -> None:
    assert set(DEFAULTS) == {(i, u) for i in INTENTS for u in URGENCIES}


@pytest.mark.parametrize(("intent", "urgency"), sorted(DEFAULTS))
def test_shipped_defaults(
    policy: DeadlinePolicy, cal: WorkCalendar, intent: str, urgency: str
) -> None:
    got = policy.deadlines(CREATED, intent, urgency, cal)
    assert got == DEFAULTS[(intent, urgency)]
    for moment in (got.accept_by, got.resolve_by, got.remind_at, got.escalate_at):
        assert moment.tzinfo == SH
    assert CREATED <= got.remind_at <= got.resolve_by < got.escalate_at


@pytest.mark.parametrize(
    ("intent", "urgency", "resolve_within"),
    [
        ("咨询", "一般", "3 workdays"),
        ("建议", "一般", "3 workdays"),
        ("表扬", "一般", "3 workdays"),
        ("求助", "一般", "20 workdays"),
        ("投诉", "一般", "20 workdays"),
        ("其他", "一般", "20 workdays"),
        *((i, "紧急", "24 hours") for i in INTENTS),
    ],
)
def test_shipped_rules_as_documented(
    policy: DeadlinePolicy, intent: str, urgency: str, resolve_within: str
) -> None:
    rule = policy.rule(intent, urgency)
    assert str(rule.resolve_within) == resolve_within
    assert str(rule.accept_within) == ("2 hours" if urgency == "紧急" else "1 workdays")


def test_general_periods(policy: DeadlinePolicy) -> None:
    assert str(policy.extension_max) == "30 workdays"
    assert str(policy.rating_reminder_after) == "3 days"
    assert str(policy.rating_autoclose_after) == "7 days"


@pytest.mark.parametrize(
    ("created", "accept_by", "resolve_by"),
    [
        # 24 hours means 24 hours of the clock: across midnight, into a weekend
        (at(2026, 12, 4, 22, 30), at(2026, 12, 5, 0, 30), at(2026, 12, 5, 22, 30)),
        # reported on a holiday, due on a day off that the law does not fix (国庆 is 10-01..03)
        (at(2026, 10, 3, 8), at(2026, 10, 3, 10), at(2026, 10, 4, 8)),
        # an aware time in another zone; the answer comes back in Asia/Shanghai
        (datetime(2026, 11, 30, 16, tzinfo=UTC), at(2026, 12, 1, 2), at(2026, 12, 2)),
    ],
)
def test_urgent_hours_are_calendar_hours(
    policy: DeadlinePolicy,
    cal: WorkCalendar,
    created: datetime,
    accept_by: datetime,
    resolve_by: datetime,
) -> None:
    got = policy.deadlines(created, "投诉", "紧急", cal)
    assert (got.accept_by, got.resolve_by) == (accept_by, resolve_by)
    assert got.resolve_by.tzinfo == SH
    assert got.resolve_by - got.remind_at == timedelta(hours=6)


@pytest.mark.parametrize(
    ("created", "resolve_by"),
    [
        # the hours before 国庆: 10-01 22:30 is a statutory day, so the same time on 10-04
        (at(2026, 9, 30, 22, 30), at(2026, 10, 4, 22, 30)),
        # an aware time in another zone: 10-01 00:00 in Shanghai, due 10-04 00:00
        (datetime(2026, 9, 30, 16, tzinfo=UTC), at(2026, 10, 4)),
        # the hours before 春节 2026: 除夕 02-16 to 初三 02-19
        (at(2026, 2, 15, 9), at(2026, 2, 20, 9)),
        (at(2026, 2, 16, 23, 15), at(2026, 2, 20, 23, 15)),
        # the hours before 元旦 2027, a year the library does not know
        (at(2026, 12, 31, 10), at(2027, 1, 2, 10)),
        (at(2026, 12, 31, 23, 59, 59), at(2027, 1, 2, 23, 59, 59)),
        # before 春节 2027 (除夕 02-05 to 初三 02-08) and 国庆 2027 (10-01..03)
        (at(2027, 2, 4, 18), at(2027, 2, 9, 18)),
        (at(2027, 9, 30, 8), at(2027, 10, 4, 8)),
        # 24 hours ending just before a statutory day stay where they are
        (at(2026, 12, 30, 23, 59), at(2026, 12, 31, 23, 59)),
    ],
)
def test_urgent_deadline_is_carried_past_a_statutory_holiday(
    policy: DeadlinePolicy, cal: WorkCalendar, created: datetime, resolve_by: datetime
) -> None:
    got = policy.deadlines(created, "投诉", "紧急", cal)
    assert got.resolve_by == resolve_by
    assert got.resolve_by.tzinfo == SH
    assert cal.statutory_holiday(got.resolve_by) is None
    assert got.accept_by == created.astimezone(SH) + timedelta(hours=2)  # 签收 is not moved
    assert created <= got.remind_at <= got.resolve_by < got.escalate_at


def test_deadline_into_unknown_year_skips_statutory_days(
    policy: DeadlinePolicy, cal: WorkCalendar, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="huiyin.workdays")
    got = policy.deadlines(at(2026, 12, 20, 10), "投诉", "一般", cal)
    assert got.resolve_by == eod(2027, 1, 18)  # 2027-01-01 (元旦) is not counted
    assert cal.unannounced_years == {2027}
    assert caplog.records == []  # the dispatch chat is told instead (no log warning)


class Intent(enum.StrEnum):
    COMPLAINT = "投诉"


class Urgency(enum.StrEnum):
    NORMAL = "一般"


def test_unknown_intent_falls_back_to_other_and_enums_work(
    policy: DeadlinePolicy, cal: WorkCalendar
) -> None:
    assert policy.rule("闲聊", "一般") == policy.rule("其他", "一般")
    assert policy.deadlines(CREATED, "", "紧急", cal) == URGENT
    assert policy.deadlines(CREATED, Intent.COMPLAINT, Urgency.NORMAL, cal) == LONG


def test_unknown_urgency_is_an_error(policy: DeadlinePolicy) -> None:
    with pytest.raises(ValueError, match="urgency"):
        policy.rule("投诉", "特急")


def test_naive_created_at_is_an_error(policy: DeadlinePolicy, cal: WorkCalendar) -> None:
    with pytest.raises(ValueError, match="naive"):
        policy.deadlines(datetime(2026, 9, 30, 15), "投诉", "紧急", cal)


def test_reopen_and_extension(policy: DeadlinePolicy, cal: WorkCalendar) -> None:
    # 重办 10 working days from Friday 2026-10-09: 10, 12..16, 19..22
    assert policy.reopen_deadline(at(2026, 10, 9, 11), cal) == eod(2026, 10, 22)
    # 延期 at most 30 working days beyond the original deadline
    latest = policy.max_extension(LONG.resolve_by, cal)
    assert latest == eod(2026, 12, 15)
    assert cal.workdays_between(LONG.resolve_by, latest) == 30


def test_hour_reopen_extension_and_moved_deadlines_skip_statutory_holidays(
    tmp_path: Path, cal: WorkCalendar
) -> None:
    text = DEFAULT_POLICY_FILE.read_text(encoding="utf-8")
    text = text.replace('extension_max = "30 workdays"', 'extension_max = "48 hours"')
    text = text.replace(
        'reopen_resolve_within = "10 workdays"', 'reopen_resolve_within = "24 hours"'
    )
    path = tmp_path / "policy.toml"
    path.write_text(text, encoding="utf-8")
    hourly = DeadlinePolicy.load(path)
    # 重办 on 除夕 2027 morning: 24 hours later is 初一, so the same time on 02-09 (初四)
    assert hourly.reopen_deadline(at(2027, 2, 5, 9), cal) == at(2027, 2, 9, 9)
    # 延期 at most 48 hours past 2026-12-30 12:00 would be 元旦: 2027-01-02 12:00
    assert hourly.max_extension(at(2026, 12, 30, 12), cal) == at(2027, 1, 2, 12)
    # A deadline moved onto 国庆 (a 转派, an approval) is carried past it too.
    rule = hourly.rule("投诉", "紧急")
    moved = hourly.around(at(2027, 9, 30, 9), at(2027, 10, 2, 9), rule, cal)
    assert moved.resolve_by == at(2027, 10, 4, 9)
    assert moved.escalate_at == at(2027, 10, 4, 13)


def test_rating_periods_are_calendar_days(policy: DeadlinePolicy) -> None:
    resolved = at(2026, 9, 30, 18, 45)
    assert policy.rating_reminder_at(resolved) == at(2026, 10, 3, 18, 45)
    assert policy.rating_autoclose_at(resolved) == at(2026, 10, 7, 18, 45)
    utc = datetime(2026, 9, 30, 10, 45, tzinfo=UTC)
    assert policy.rating_autoclose_at(utc) == at(2026, 10, 7, 18, 45)
    assert policy.rating_autoclose_at(utc).tzinfo == SH


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (at(2026, 10, 9, 18), "2026年10月9日（周五）18:00前"),
        (eod(2026, 10, 10), "2026年10月10日（周六）24:00前"),
        (at(2026, 10, 11, 7, 5, 30), "2026年10月11日（周日）07:05前"),
        (datetime(2026, 10, 1, 1, tzinfo=UTC), "2026年10月1日（周四）09:00前"),
        (at(2027, 1, 4), "2027年1月4日（周一）00:00前"),
    ],
)
def test_format_deadline(moment: datetime, text: str) -> None:
    assert format_deadline(moment) == text


def test_remind_clamped_to_created(tmp_path: Path, cal: WorkCalendar) -> None:
    text = DEFAULT_POLICY_FILE.read_text(encoding="utf-8").replace(
        'remind_before = "1 workday"', 'remind_before = "5 workdays"'
    )
    path = tmp_path / "policy.toml"
    path.write_text(text, encoding="utf-8")
    got = DeadlinePolicy.load(path).deadlines(CREATED, "咨询", "一般", cal)
    assert got.remind_at == CREATED
    assert got.resolve_by == SHORT.resolve_by


# -- validation ---------------------------------------------------------------------------

SHIPPED = DEFAULT_POLICY_FILE.read_text(encoding="utf-8")
CONSULT = (
    '[rules."咨询"."一般"]   # consultation\naccept_within = "1 workday"\n'
    'resolve_within = "3 workdays"\n'
)


@pytest.mark.parametrize(
    ("old", "new", "key", "reason"),
    [
        (
            'resolve_within = "3 workdays"',
            'resolve_within = "3 weeks"',
            "rules.咨询.一般.resolve_within",
            "不是",
        ),
        (
            'resolve_within = "3 workdays"',
            "resolve_within = 3",
            "rules.咨询.一般.resolve_within",
            "应为",
        ),
        (
            'resolve_within = "3 workdays"',
            'resolve_within = "0 workdays"',
            "rules.咨询.一般.resolve_within",
            "至少为 1",
        ),
        (
            'resolve_within = "3 workdays"',
            'resolve_within = "50%"',
            "rules.咨询.一般.resolve_within",
            "此处不能用单位",
        ),
        (
            'resolve_within = "3 workdays"',
            'resolve_within = "3 workdays"\nremind_before = "100%"',
            "rules.咨询.一般.remind_before",
            "在 1 到 99 之间",
        ),
        (
            'resolve_within = "3 workdays"',
            'resolve_within = "3 workdays"\ndue = "1 day"',
            "rules.咨询.一般.due",
            "不认识的键",
        ),
        (CONSULT, "", "rules.咨询.一般", "缺少"),
        ('[rules."其他"."紧急"]', '[rules."其它"."紧急"]', "rules.其它", "不认识的键"),
        (
            'remind_before = "25%"           # 24',
            'remind_before = "1 workday"  #',
            "rules.投诉.紧急.remind_before",
            "请用小时或百分比",
        ),
        (
            'rating_reminder_after = "3 days"',
            'rating_reminder_after = "3 workdays"',
            "general.rating_reminder_after",
            "此处不能用单位",
        ),
        (
            'rating_autoclose_after = "7 days"',
            'rating_autoclose_after = "72 hours"',
            "general.rating_autoclose_after",
            "须晚于",
        ),
        ('extension_max = "30 workdays"', "", "general.extension_max", "缺少"),
        (
            'escalate_after = "2 workdays"',
            'escalate_after = "2 weekdays"',
            "defaults.escalate_after",
            "不是",
        ),
        ("format = 1", "format = 1\nversion = 2", "version", "不认识的键"),
        ("[general]", "[general", "", "不是有效的 TOML：表头缺少右方括号"),
    ],
)
def test_bad_policy_names_file_and_key(
    tmp_path: Path, old: str, new: str, key: str, reason: str
) -> None:
    assert old in SHIPPED
    path = tmp_path / "bad-policy.toml"
    path.write_text(SHIPPED.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(PolicyFileError) as err:
        DeadlinePolicy.load(path)
    message = str(err.value)
    assert "bad-policy.toml" in message
    assert err.value.key == key
    assert key in message
    assert reason in message


def test_chinese_units_accepted(tmp_path: Path, cal: WorkCalendar) -> None:
    text = SHIPPED.replace('resolve_within = "3 workdays"', 'resolve_within = "3 个工作日"', 1)
    text = text.replace('rating_autoclose_after = "7 days"', 'rating_autoclose_after = "7 天"')
    path = tmp_path / "zh.toml"
    path.write_text(text, encoding="utf-8")
    policy = DeadlinePolicy.load(path)
    assert policy.deadlines(CREATED, "咨询", "一般", cal) == SHORT
    assert policy.rating_autoclose_at(CREATED) == CREATED + timedelta(days=7)


def test_missing_policy_file(tmp_path: Path) -> None:
    with pytest.raises(PolicyFileError, match="无法读取：文件不存在"):
        DeadlinePolicy.load(tmp_path / "nope.toml")
