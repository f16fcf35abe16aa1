"""The figures read from the per-day rollups (`rollup.py` keeps them): the same tallies as
`figures.tally`, without reading tickets.

`tallies` folds whatever is still noted, then sums the rollups over a period's days. What
depends on the time of reading (a deadline to accept by or to resolve by passing) is added from
the few tickets still waiting on one; working days are counted on read, from (filing day,
resolution day) pairs, so a new holiday calendar needs no rebuild.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.departments import Directory
from bot.periods import Period
from bot.services.context import Services
from bot.services.statistics.figures import (
    Figures,
    Tally,
    figures_of,
)
from bot.services.statistics.rollup import ANSWERS, DAILY, FOLLOWUP_COUNTS, catch_up
from bot.workdays import WorkCalendar
from storage.models import (
    BoundChat,
    StatsDaily,
    StatsFollowupDaily,
    StatsResolveDays,
    StatsTicket,
)


def _grouping(table: Any, by: str | None) -> list[ColumnElement[Any]]:
    if by is None:
        return []
    if by in ("department", "level"):
        return [table.department]
    if by == "grid":
        return [table.grid_chat_id]
    if by == "category":
        return [table.category]
    raise ValueError(f"unknown grouping {by!r}")


def _bucket(day: Any, periods: Sequence[Period]) -> ColumnElement[Any]:
    """Which of the (non-overlapping) periods a day falls in, as its index."""
    return case(*((and_(day >= p.start, day < p.end), i) for i, p in enumerate(periods)), else_=-1)


def _span(day: Any, periods: Sequence[Period]) -> ColumnElement[bool]:
    return and_(day >= min(p.start for p in periods), day < max(p.end for p in periods))


def _scope(table: Any, departments: frozenset[str] | None) -> list[ColumnElement[bool]]:
    return [] if departments is None else [table.department.in_(sorted(departments))]


async def tallies(
    sessions: async_sessionmaker[AsyncSession],
    periods: Sequence[Period],
    by: str | None,
    *,
    by_filing: bool,
    calendar: WorkCalendar,
    directory: Directory,
    now: datetime,
    departments: frozenset[str] | None = None,
    followups_only: bool = False,
) -> list[dict[str, Tally]]:
    """Each period's tallies per group (one group "" when `by` is None), from the rollups.

    `followups_only` leaves the ticket counts out (the trend charts need only the rates).
    Groups that neither filed a ticket nor concluded a 回访 in a period are left out.
    """
    await catch_up(sessions)
    out: list[dict[str, Tally]] = [defaultdict(Tally) for _ in periods]
    async with sessions() as session:
        grids: dict[int, str] = {}
        if by == "grid":
            grids = {
                r[0]: r[1]
                for r in (
                    await session.execute(
                        select(BoundChat.chat_id, BoundChat.name).where(BoundChat.kind == "grid")
                    )
                ).all()
            }

        def key_of(raw: Any) -> str:
            if by is None:
                return ""
            if by == "level":
                dept = directory.get(raw)
                return dept.level if dept else ""
            if by == "grid":
                return grids.get(raw, "") if raw else ""
            if by == "category":
                return str(raw).split("/", 1)[0]
            return str(raw)

        for batch in _apart(periods):
            part = [periods[i] for i in batch]
            into = [out[i] for i in batch]
            await _followup_counts(session, part, by, by_filing, departments, key_of, into)
            if not followups_only:
                await _ticket_counts(session, part, by, departments, calendar, now, key_of, into)
    return [{k: t for k, t in sorted(groups.items()) if t.filed or t.concluded} for groups in out]


def _apart(periods: Sequence[Period]) -> list[list[int]]:
    """The periods' indexes in batches whose periods do not overlap (one query per batch)."""
    batches: list[list[int]] = []
    for i, p in enumerate(periods):
        for batch in batches:
            if all(p.end <= periods[j].start or periods[j].end <= p.start for j in batch):
                batch.append(i)
                break
        else:
            batches.append([i])
    return batches


async def _followup_counts(
    session: AsyncSession,
    periods: Sequence[Period],
    by: str | None,
    by_filing: bool,
    departments: frozenset[str] | None,
    key_of: Callable[[Any], str],
    out: list[dict[str, Tally]],
) -> None:
    f = StatsFollowupDaily
    group = _grouping(f, by)
    bucket = _bucket(f.day, periods).label("bucket")
    sums = [func.sum(getattr(f, name)) for name in FOLLOWUP_COUNTS]
    query = (
        select(bucket, *group, f.intent, f.category, *sums)
        .where(
            f.basis == ("filed" if by_filing else "closed"),
            _span(f.day, periods),
            *_scope(f, departments),
        )
        .group_by(bucket, *group, f.intent, f.category)
    )
    width = len(group)
    for row in (await session.execute(query)).all():
        if row[0] < 0:
            continue
        intent, category = row[1 + width], row[2 + width]
        concluded, unrated, valid, *given = (int(v or 0) for v in row[3 + width :])
        if not concluded:
            continue
        t = out[row[0]][key_of(row[1] if width else None)]
        t.concluded += concluded
        t.unrated += unrated
        if valid:
            t.followups[(intent, category)] = t.followups.get((intent, category), 0) + valid
            for (question, answer), n in zip(ANSWERS, given, strict=True):
                akey = (intent, category, question, answer)
                t.answers[akey] = t.answers.get(akey, 0) + n


async def _ticket_counts(
    session: AsyncSession,
    periods: Sequence[Period],
    by: str | None,
    departments: frozenset[str] | None,
    calendar: WorkCalendar,
    now: datetime,
    key_of: Callable[[Any], str],
    out: list[dict[str, Tally]],
) -> None:
    d = StatsDaily
    group = _grouping(d, by)
    bucket = _bucket(d.day, periods).label("bucket")
    names = ("filed", *DAILY)
    query = (
        select(bucket, *group, *(func.sum(getattr(d, n)) for n in names))
        .where(_span(d.day, periods), *_scope(d, departments))
        .group_by(bucket, *group)
    )
    width = len(group)
    for row in (await session.execute(query)).all():
        if row[0] < 0:
            continue
        t = out[row[0]][key_of(row[1] if width else None)]
        for name, value in zip(names, row[1 + width :], strict=True):
            setattr(t, name, getattr(t, name) + int(value or 0))
        t.days_count = t.resolved  # every resolved ticket has its working days counted
    # What the time of reading adds: deadlines to accept or to resolve by that have passed.
    s = StatsTicket
    group = _grouping(s, by)
    bucket = _bucket(s.day, periods).label("bucket")
    accept_late = s.pending_accept_by <= now
    resolve_late = s.pending_deadline <= now
    query = (
        select(
            bucket,
            *group,
            func.sum(case((accept_late, 1), else_=0)),
            func.sum(case((resolve_late, 1), else_=0)),
            func.sum(case((and_(resolve_late, s.resolved == 1), 1), else_=0)),
        )
        .where(
            or_(s.pending_accept_by.is_not(None), s.pending_deadline.is_not(None)),
            _span(s.day, periods),
            or_(accept_late, resolve_late),
            *_scope(s, departments),
        )
        .group_by(bucket, *group)
    )
    for row in (await session.execute(query)).all():
        if row[0] < 0:
            continue
        t = out[row[0]][key_of(row[1] if width else None)]
        accepted, late, late_resolved = (int(v or 0) for v in row[1 + width :])
        t.accept_due += accepted
        t.overdue += late
        t.resolve_due += late - late_resolved
        t.resolved_on_time -= late_resolved
    # Working days from filing to resolution, on today's calendar: with w(d) the working days
    # after the first day of the span up to d, a ticket's are w(resolved) - w(filed), so the
    # sums come from two narrow queries (per resolution day, per filing day), not every pair.
    # A resolution before the filing day counts 0 days, as the plain path counts it.
    r = StatsResolveDays
    group = _grouping(r, by)
    bucket = _bucket(r.day, periods).label("bucket")
    span = (_span(r.day, periods), r.resolved_day >= r.day, *_scope(r, departments))
    worked = _cumulative_workdays(calendar, min(p.start for p in periods))
    for day_column, sign in ((r.resolved_day, 1), (r.day, -1)):
        query = (
            select(bucket, *group, day_column, func.sum(r.n))
            .where(*span)
            .group_by(bucket, *group, day_column)
        )
        for row in (await session.execute(query)).all():
            if row[0] < 0 or not row[-1]:
                continue
            t = out[row[0]][key_of(row[1] if width else None)]
            t.days_total += sign * int(row[-1]) * worked(row[-2])


def _cumulative_workdays(calendar: WorkCalendar, origin: date) -> Callable[[date], int]:
    """w(d): working days after `origin` up to and including d (d on or after `origin`)."""
    totals = [0]

    def at(day: date) -> int:
        offset = (day - origin).days
        while len(totals) <= offset:
            totals.append(totals[-1] + calendar.is_workday(origin + timedelta(days=len(totals))))
        return totals[offset]

    return at


async def figures_for(
    services: Services,
    periods: Sequence[Period],
    by: str | None,
    now: datetime,
    *,
    departments: frozenset[str] | None = None,
    followups_only: bool = False,
) -> list[dict[str, Figures]]:
    """Each period's figures per group (or overall, under "", when `by` is None)."""
    ind = services.indicators
    tallied = await tallies(
        services.sessions,
        periods,
        by,
        by_filing=ind.followup_basis == "filed",
        calendar=services.calendar,
        directory=services.directory,
        now=now,
        departments=departments,
        followups_only=followups_only,
    )
    out = []
    for groups in tallied:
        if by is None:
            out.append({"": figures_of(groups.get("", Tally()), ind)})
        else:
            out.append({k: figures_of(t, ind) for k, t in groups.items()})
    return out
