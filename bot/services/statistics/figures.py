"""The figures supervisors are judged by: the three rates, 综合成绩 and the process indicators.

Plain values in, plain values out: `facts.load_facts` reads one `TicketFacts` per ticket that
touches a period, `figures` turns facts into `Figures`, `grouped` and `ranking` split and
order them.
Definitions (the weights, the scope, the date basis) come from `bot.indicators.Indicators`.

A ticket's 回访 is its latest concluded round (the first round of a reopened ticket is kept in
the database but the final one counts); of several reporters of a merged ticket, the original
reporter's answers count, else the earliest. It is a valid follow-up when all three questions
were answered.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from fractions import Fraction

from bot.departments import Directory
from bot.domain import Rating, Status
from bot.indicators import QUESTIONS, Indicators
from bot.periods import Period, beijing_day
from bot.workdays import WorkCalendar

GROUPINGS = ("department", "level", "grid", "category")
_OPEN = frozenset(
    {Status.NEW, Status.DISPATCHING, Status.ACCEPTED, Status.EXTENDING, Status.REOPENED}
)


@dataclass(frozen=True, slots=True)
class Answers:
    """The three answers of a valid 回访."""

    contacted: bool
    solved: str
    satisfaction: str

    def answer(self, question: str) -> str:
        """The answer to a question, as the indicators file names it."""
        if question == "contacted":
            return "yes" if self.contacted else "no"
        return self.solved if question == "solved" else self.satisfaction


@dataclass(frozen=True, slots=True)
class TicketFacts:
    """What the figures need to know about one ticket."""

    id: int
    number: str
    department: str  # "" = the dispatch chat (总平台)
    grid: str  # "" = not from a grid group
    category: str
    intent: str
    status: str
    filed_at: datetime
    accept_by: datetime
    deadline_at: datetime
    accepted_at: datetime | None = None
    resolved_at: datetime | None = None
    overdue: bool = False
    reopens: int = 0
    merged: int = 0
    verdict: str | None = None  # the counted round's Rating (unrated included), or None
    verdict_at: datetime | None = None
    answers: Answers | None = None  # set only for a valid follow-up
    grid_chat_id: int | None = None


@dataclass(frozen=True)
class Figures:
    """Every indicator for one set of tickets; ratios are 0..1, 综合成绩 is out of 100."""

    tickets: int
    followups: int
    rates: dict[str, float | None]
    score: float | None
    on_time_accept: float | None
    on_time_resolve: float | None
    overdue: int
    reopen_rate: float | None
    repeat_rate: float | None
    avg_days: float | None
    unrated_rate: float | None
    unrated: int
    band: str = ""
    counts: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Row:
    """One group in a ranking: its key, display name, figures, rank (None: too few 回访)."""

    key: str
    name: str
    figures: Figures
    rank: int | None


def _ratio(num: Fraction | int, den: int) -> float | None:
    return None if den == 0 else round(float(Fraction(num) / den), 4)


@dataclass
class Tally:
    """The additive counts every indicator is computed from (one set of tickets, one period).

    `followups` counts valid 回访 by (intent, category), `answers` by (intent, category,
    question, answer): which rates a ticket is assessed on, and what each answer weighs, are
    applied when figures are computed, so tallies can be kept (rolled up) without knowing the
    indicators file.
    """

    filed: int = 0
    voices: int = 0
    merged: int = 0
    accept_due: int = 0
    accepted_on_time: int = 0
    overdue: int = 0
    resolved: int = 0
    reopened: int = 0
    days_total: int = 0
    days_count: int = 0
    resolve_due: int = 0
    resolved_on_time: int = 0
    concluded: int = 0
    unrated: int = 0
    followups: dict[tuple[str, str], int] = field(default_factory=dict)
    answers: dict[tuple[str, str, str, str], int] = field(default_factory=dict)

    def count(self, intent: str, category: str, answers: Answers, n: int = 1) -> None:
        """Count `n` valid 回访 of this intent and category with these answers."""
        key = (intent, category)
        self.followups[key] = self.followups.get(key, 0) + n
        for question in QUESTIONS:
            akey = (intent, category, question, answers.answer(question))
            self.answers[akey] = self.answers.get(akey, 0) + n


def tally(
    facts: Iterable[TicketFacts],
    period: Period,
    by_filing: bool,
    calendar: WorkCalendar,
    now: datetime,
) -> Tally:
    """Count the facts for one period (`by_filing`: 回访 dated by filing, else by verdict)."""
    t = Tally()
    workday = functools.cache(calendar.is_workday)  # the calendar library is slow per call
    low, high = period.bounds()  # a ticket is in a period by its filing or 回访 date
    for fact in facts:
        when = fact.filed_at if by_filing else fact.verdict_at
        if fact.verdict is not None and when is not None and low <= when < high:
            t.concluded += 1
            if fact.verdict == Rating.UNRATED:
                t.unrated += 1
            if fact.answers is not None:
                t.count(fact.intent, fact.category, fact.answers)
        if not low <= fact.filed_at < high or fact.status == Status.CANCELLED:
            continue
        t.filed += 1
        t.voices += 1 + fact.merged
        t.merged += fact.merged
        if fact.accepted_at is not None or fact.accept_by <= now:
            t.accept_due += 1
            if fact.accepted_at is not None and fact.accepted_at <= fact.accept_by:
                t.accepted_on_time += 1
        late = fact.overdue or (fact.status in _OPEN and fact.deadline_at <= now)
        t.overdue += late
        if fact.resolved_at is not None:
            t.resolved += 1
            t.reopened += fact.reopens > 0
            t.days_total += _workdays_between(workday, fact.filed_at, fact.resolved_at)
            t.days_count += 1
        if fact.resolved_at is not None or late:
            t.resolve_due += 1
            t.resolved_on_time += fact.resolved_at is not None and not late
    return t


def figures(
    facts: Iterable[TicketFacts],
    period: Period,
    ind: Indicators,
    calendar: WorkCalendar,
    now: datetime,
) -> Figures:
    """Compute every indicator over the facts for one period."""
    return figures_of(tally(facts, period, ind.followup_basis == "filed", calendar, now), ind)


def figures_of(t: Tally, ind: Indicators) -> Figures:
    """Every indicator from a tally."""
    rate_num: dict[str, Fraction] = defaultdict(Fraction)
    rate_den: dict[str, int] = defaultdict(int)
    for (intent, category), n in sorted(t.followups.items()):
        assessed = ind.assessed_on(intent, category)
        for rate in ind.rates:
            if rate.key in assessed:
                rate_den[rate.key] += n
                for answer, weight in rate.weights.items():
                    given = t.answers.get((intent, category, rate.question, answer), 0)
                    rate_num[rate.key] += given * weight
    rates = {r.key: _ratio(rate_num[r.key], rate_den[r.key]) for r in ind.rates}
    score = _score(rate_num, rate_den, ind)
    return Figures(
        tickets=t.filed,
        followups=sum(t.followups.values()),
        rates=rates,
        score=score,
        on_time_accept=_ratio(t.accepted_on_time, t.accept_due),
        on_time_resolve=_ratio(t.resolved_on_time, t.resolve_due),
        overdue=t.overdue,
        reopen_rate=_ratio(t.reopened, t.resolved),
        repeat_rate=_ratio(t.merged, t.voices),
        avg_days=None if t.days_count == 0 else round(t.days_total / t.days_count, 2),
        unrated_rate=_ratio(t.unrated, t.concluded),
        unrated=t.unrated,
        band=ind.band(score),
        counts={
            "concluded": t.concluded,
            "resolved": t.resolved,
            "reopened": t.reopened,
            "merged": t.merged,
        },
    )


def _workdays_between(workday: Callable[[date], bool], a: datetime, b: datetime) -> int:
    """Working days after a's Beijing day up to and including b's (as the calendar counts)."""
    first, last = beijing_day(a), beijing_day(b)
    return sum(workday(first + timedelta(days=n)) for n in range(1, (last - first).days + 1))


def _score(num: dict[str, Fraction], den: dict[str, int], ind: Indicators) -> float | None:
    """综合成绩 out of 100 over the rates that have follow-ups (weights re-normalised)."""
    total = Fraction(0)
    weight = Fraction(0)
    for key, w in ind.score_weights.items():
        if den.get(key):
            total += w * num[key] / den[key]
            weight += w
    return None if weight == 0 else round(float(total / weight * 100), 2)


def group_key(fact: TicketFacts, by: str, directory: Directory) -> str:
    """The group a ticket falls in: a department code, a level, a grid or a category."""
    if by == "department":
        return fact.department
    if by == "level":
        dept = directory.get(fact.department)
        return dept.level if dept else ""
    if by == "grid":
        return fact.grid
    if by == "category":
        return fact.category.split("/", 1)[0]
    raise ValueError(f"unknown grouping {by!r}")


def grouped(
    facts: Sequence[TicketFacts],
    by: str,
    period: Period,
    ind: Indicators,
    directory: Directory,
    calendar: WorkCalendar,
    now: datetime,
) -> dict[str, Figures]:
    """Figures per group (department, level, grid or category) that has any in the period."""
    groups: dict[str, list[TicketFacts]] = defaultdict(list)
    for fact in facts:
        groups[group_key(fact, by, directory)].append(fact)
    by_filing = ind.followup_basis == "filed"
    out = {}
    for key, members in sorted(groups.items()):
        t = tally(members, period, by_filing, calendar, now)
        if t.filed or t.concluded:  # a group with nothing counted in the period is not shown
            out[key] = figures_of(t, ind)
    return out


def ranking(groups: dict[str, Figures], ind: Indicators, name: Callable[[str], str]) -> list[Row]:
    """Groups best first by 综合成绩; those with too few valid 回访 are listed last, unranked."""
    ranked = sorted(
        (k for k, f in groups.items() if f.score is not None and f.followups >= ind.min_followups),
        key=lambda k: (-(groups[k].score or 0.0), k),
    )
    rest = sorted(k for k in groups if k not in ranked)
    rows = [Row(k, name(k), groups[k], i) for i, k in enumerate(ranked, start=1)]
    return rows + [Row(k, name(k), groups[k], None) for k in rest]
