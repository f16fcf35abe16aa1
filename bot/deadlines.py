"""Deadline policy as data: when a ticket must be accepted (签收) and resolved (办结).

The policy lives in ``bot/data/deadline_policy.toml`` (see docs/DEADLINES.md). Rules:

- ``N hours``: calendar hours, nights, weekends and holidays included (created_at + N h).
  Used for 紧急 tickets: accept within 2 hours, resolve within 24 hours of the clock. A
  resolve deadline (the promise) that falls on a statutory holiday is carried to the same
  clock time of the first day after it (``WorkCalendar.past_statutory_holidays``).
- ``N workdays``: 24:00 (stored 23:59:59 Asia/Shanghai) of the N-th working day after the start
  day; the start day never counts (see ``bot.workdays``).
- ``N days``: calendar days, exact clock time (start + N × 24 h); used for rating periods.
- ``N%`` (remind_before only): that share of the resolve window, before resolve_by.

From one ticket's creation: ``accept_by``; ``resolve_by`` (the promise the resident sees);
``remind_at`` = resolve_by − remind_before (催办; for workdays: the end of the N-th working day
before the deadline day, i.e. when N working days are left), never before created_at;
at resolve_by an unresolved ticket is overdue (督办); ``escalate_at`` = resolve_by +
escalate_after (still overdue → escalate). An unknown intent uses the 其他 rules.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

from bot.datafiles import read_toml
from bot.domain import Urgency
from bot.errors import PolicyFileError
from bot.workdays import BUSINESS_TZ, DATA_DIR, END_OF_DAY, WorkCalendar

__all__ = [
    "DEFAULT_POLICY_FILE",
    "FALLBACK_INTENT",
    "INTENTS",
    "URGENCIES",
    "DeadlinePolicy",
    "Deadlines",
    "PolicyFileError",
    "Rule",
    "Span",
    "format_deadline",
]

DEFAULT_POLICY_FILE = DATA_DIR / "deadline_policy.toml"
INTENTS: tuple[str, ...] = ("投诉", "求助", "咨询", "建议", "表扬", "其他")
URGENCIES: tuple[str, ...] = tuple(u.value for u in Urgency)
FALLBACK_INTENT = "其他"

Unit = Literal["hours", "workdays", "days", "percent"]
_UNITS: dict[str, Unit] = {
    "hour": "hours",
    "hours": "hours",
    "h": "hours",
    "小时": "hours",
    "workday": "workdays",
    "workdays": "workdays",
    "工作日": "workdays",
    "个工作日": "workdays",
    "day": "days",
    "days": "days",
    "d": "days",
    "天": "days",
    "日": "days",
    "%": "percent",
}
_SPAN_RE = re.compile(r"^\s*(\d+)\s*([^\d\s].*?)\s*$")
_TIMED: frozenset[Unit] = frozenset({"hours", "workdays", "days"})
_CLOCK: frozenset[Unit] = frozenset({"hours", "days"})
_RELATIVE: frozenset[Unit] = frozenset({"hours", "workdays", "days", "percent"})
_WEEKDAYS = "一二三四五六日"


@dataclass(frozen=True, slots=True)
class Span:
    """A policy duration: an amount and a unit (hours, workdays, days or percent)."""

    amount: int
    unit: Unit

    def after(self, moment: datetime, calendar: WorkCalendar) -> datetime:
        """Return the moment this span after ``moment`` ends, in Asia/Shanghai."""
        if self.unit == "workdays":
            return calendar.add_workdays(moment, self.amount)
        if self.unit == "hours":
            return _shift(moment, timedelta(hours=self.amount))
        if self.unit == "days":
            return _shift(moment, timedelta(days=self.amount))
        raise ValueError(f"a {self.unit} span has no end on its own")

    def __str__(self) -> str:
        return f"{self.amount}%" if self.unit == "percent" else f"{self.amount} {self.unit}"


@dataclass(frozen=True, slots=True)
class Rule:
    """The time limits for one intent and urgency."""

    accept_within: Span
    resolve_within: Span
    remind_before: Span
    escalate_after: Span


@dataclass(frozen=True)
class Deadlines:
    """Every moment that matters for one ticket, all in Asia/Shanghai."""

    accept_by: datetime
    resolve_by: datetime
    remind_at: datetime
    escalate_at: datetime


def _shift(moment: datetime, delta: timedelta) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment.isoformat()}: give a timezone-aware datetime")
    return (moment.astimezone(BUSINESS_TZ) + delta).astimezone(BUSINESS_TZ)


def _parse_span(raw: object, path: Path, key: str, allowed: frozenset[Unit]) -> Span:
    names = ", ".join(sorted(allowed))
    if not isinstance(raw, str):
        raise PolicyFileError(path, key, f'应为 "3 workdays" 这样的字符串，实际是 {raw!r}')
    match = _SPAN_RE.match(raw)
    unit = _UNITS.get(match.group(2).lower()) if match else None
    if match is None or unit is None:
        raise PolicyFileError(
            path,
            key,
            f'{raw!r} 不是 "<整数> <单位>" 的写法（单位可用：{names}）',
        )
    if unit not in allowed:
        raise PolicyFileError(path, key, f"{raw!r}：此处不能用单位 {unit}（可用：{names}）")
    amount = int(match.group(1))
    if amount <= 0 or (unit == "percent" and amount >= 100):
        limit = "在 1 到 99 之间" if unit == "percent" else "至少为 1"
        raise PolicyFileError(path, key, f"{raw!r}：数量须{limit}")
    return Span(amount, unit)


def _table(doc: Mapping[str, object], key: str, path: Path, where: str) -> Mapping[str, object]:
    value = doc.get(key)
    if not isinstance(value, dict):
        raise PolicyFileError(path, f"{where}{key}", "缺少这个表，或者它不是表")
    return value


def _check_keys(table: Mapping[str, object], allowed: set[str], path: Path, where: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise PolicyFileError(
            path,
            f"{where}{unknown[0]}",
            f"不认识的键（可用：{'、'.join(sorted(allowed))}）",
        )


_RULE_KEYS = {"accept_within", "resolve_within", "remind_before", "escalate_after"}
_GENERAL_KEYS = {
    "extension_max",
    "reopen_resolve_within",
    "rating_reminder_after",
    "rating_autoclose_after",
}


@dataclass(frozen=True)
class DeadlinePolicy:
    """Time limits per intent and urgency, plus reopen, extension and rating periods."""

    rules: Mapping[tuple[str, str], Rule]
    extension_max: Span
    reopen_resolve_within: Span
    rating_reminder_after: Span
    rating_autoclose_after: Span
    source: Path = DEFAULT_POLICY_FILE

    @classmethod
    def load(cls, path: Path | None = None) -> DeadlinePolicy:
        """Read and validate a policy file (the shipped one by default)."""
        path = path or DEFAULT_POLICY_FILE
        doc = read_toml(path, PolicyFileError)
        _check_keys(doc, {"format", "general", "defaults", "rules"}, path, "")
        if doc.get("format", 1) != 1:
            raise PolicyFileError(path, "format", f"不支持的格式版本 {doc['format']!r}（应为 1）")

        general = _table(doc, "general", path, "")
        _check_keys(general, _GENERAL_KEYS, path, "general.")
        missing = sorted(_GENERAL_KEYS - set(general))
        if missing:
            raise PolicyFileError(path, f"general.{missing[0]}", "缺少这个键")
        clock_only = {"rating_reminder_after", "rating_autoclose_after"}
        spans = {
            key: _parse_span(
                general[key], path, f"general.{key}", _CLOCK if key in clock_only else _TIMED
            )
            for key in sorted(_GENERAL_KEYS)
        }
        r_remind = spans["rating_reminder_after"]
        r_close = spans["rating_autoclose_after"]
        if _as_hours(r_close) <= _as_hours(r_remind):
            raise PolicyFileError(
                path,
                "general.rating_autoclose_after",
                f"{r_close} 须晚于 rating_reminder_after（{r_remind}）",
            )

        defaults = doc.get("defaults", {})
        if not isinstance(defaults, dict):
            raise PolicyFileError(path, "defaults", "应为一个表")
        _check_keys(defaults, {"remind_before", "escalate_after"}, path, "defaults.")

        table = _table(doc, "rules", path, "")
        _check_keys(table, set(INTENTS), path, "rules.")
        rules: dict[tuple[str, str], Rule] = {}
        for intent in INTENTS:
            by_urgency = _table(table, intent, path, "rules.")
            _check_keys(by_urgency, set(URGENCIES), path, f"rules.{intent}.")
            for urgency in URGENCIES:
                where = f"rules.{intent}.{urgency}"
                raw = _table(by_urgency, urgency, path, f"rules.{intent}.")
                _check_keys(raw, _RULE_KEYS, path, f"{where}.")
                rules[(intent, urgency)] = _parse_rule(raw, defaults, path, where)
        return cls(
            rules=rules,
            extension_max=spans["extension_max"],
            reopen_resolve_within=spans["reopen_resolve_within"],
            rating_reminder_after=r_remind,
            rating_autoclose_after=r_close,
            source=path,
        )

    def rule(self, intent: str, urgency: str) -> Rule:
        """Return the rule for an intent and urgency; an unknown intent uses 其他."""
        if urgency not in URGENCIES:
            raise ValueError(f"unknown urgency {urgency!r} (expected one of {URGENCIES})")
        known = str(intent) if intent in INTENTS else FALLBACK_INTENT
        return self.rules[(known, str(urgency))]

    def deadlines(
        self, created_at: datetime, intent: str, urgency: str, calendar: WorkCalendar
    ) -> Deadlines:
        """Compute accept/resolve deadlines, the 催办 reminder and the escalation time."""
        rule = self.rule(intent, urgency)
        created = _shift(created_at, timedelta(0))
        return self.around(created, rule.resolve_within.after(created, calendar), rule, calendar)

    def around(
        self, start: datetime, resolve_by: datetime, rule: Rule, calendar: WorkCalendar
    ) -> Deadlines:
        """Deadlines for a ticket (re)started at ``start`` that must be resolved by ``resolve_by``.

        Used when a deadline moves (重办, an approved 延期, 转派 or 提级): the 签收 time counts
        from ``start``, 催办 and escalation from the given ``resolve_by``, which is first carried
        past a statutory holiday (the promise the resident reads never names one).
        """
        start = _shift(start, timedelta(0))
        resolve_by = calendar.past_statutory_holidays(_shift(resolve_by, timedelta(0)))
        remind = rule.remind_before
        if remind.unit == "percent":
            remind_at = resolve_by - (resolve_by - start) * remind.amount / 100
        elif remind.unit == "workdays":
            remind_at = calendar.subtract_workdays(resolve_by, remind.amount)
        else:
            remind_at = _shift(resolve_by, -timedelta(hours=_as_hours(remind)))
        remind_at = min(max(remind_at, start), resolve_by).astimezone(BUSINESS_TZ)
        return Deadlines(
            accept_by=rule.accept_within.after(start, calendar),
            resolve_by=resolve_by,
            remind_at=remind_at,
            escalate_at=rule.escalate_after.after(resolve_by, calendar),
        )

    def reopen_deadline(self, at: datetime, calendar: WorkCalendar) -> datetime:
        """Return the resolve deadline for a ticket reopened (重办) at ``at``."""
        return calendar.past_statutory_holidays(self.reopen_resolve_within.after(at, calendar))

    def max_extension(self, resolve_by: datetime, calendar: WorkCalendar) -> datetime:
        """Return the latest deadline an approved extension (延期) may set."""
        return calendar.past_statutory_holidays(self.extension_max.after(resolve_by, calendar))

    def rating_reminder_at(self, resolved_at: datetime) -> datetime:
        """Return when to remind a reporter who has not rated a resolution."""
        return _shift(resolved_at, timedelta(hours=_as_hours(self.rating_reminder_after)))

    def rating_autoclose_at(self, resolved_at: datetime) -> datetime:
        """Return when an unrated resolution closes as 未评价."""
        return _shift(resolved_at, timedelta(hours=_as_hours(self.rating_autoclose_after)))


def _as_hours(span: Span) -> int:
    if span.unit == "hours":
        return span.amount
    if span.unit == "days":
        return span.amount * 24
    raise ValueError(f"{span} is not a clock duration")


def _parse_rule(
    raw: Mapping[str, object], defaults: Mapping[str, object], path: Path, where: str
) -> Rule:
    def field(key: str, allowed: frozenset[Unit]) -> Span:
        if key in raw:
            return _parse_span(raw[key], path, f"{where}.{key}", allowed)
        if key in defaults:
            return _parse_span(defaults[key], path, f"defaults.{key}", allowed)
        raise PolicyFileError(path, f"{where}.{key}", "缺少这个键（也没有默认值）")

    rule = Rule(
        accept_within=field("accept_within", _TIMED),
        resolve_within=field("resolve_within", _TIMED),
        remind_before=field("remind_before", _RELATIVE),
        escalate_after=field("escalate_after", _TIMED),
    )
    if rule.remind_before.unit == "workdays" and rule.resolve_within.unit != "workdays":
        key = f"{where}.remind_before" if "remind_before" in raw else "defaults.remind_before"
        raise PolicyFileError(
            path,
            key,
            f"办结时限为 {rule.resolve_within} 时，提前 {rule.remind_before} 提醒无法计算："
            f"请用小时或百分比（{where}）",
        )
    return rule


def format_deadline(dt: datetime) -> str:
    """Render a deadline for residents, e.g. "2026年10月9日（周五）18:00前"."""
    local = _shift(dt, timedelta(0))
    clock = "24:00" if local.time() == END_OF_DAY else f"{local:%H:%M}"
    return f"{local.year}年{local.month}月{local.day}日（周{_WEEKDAYS[local.weekday()]}）{clock}前"
