"""The figures from per-day rollups: the same tallies as `figures.tally`, without reading tickets.

Triggers note every ticket a write may have changed (`stats_dirty`). `fold` recomputes those
tickets' facts with `figures.load_facts`'s own code, takes each one's previous contribution out
of the rollups and puts the new one in, in one transaction; `tallies` folds whatever is still
noted, then sums the rollups over a period's days. What depends on the time of reading (a
deadline to accept by or to resolve by passing) is kept out of the rollups and added from the
few tickets still waiting on one, so the figures are those of the plain computation at any
`now`. Working days are counted on read, from (filing day, resolution day) pairs, so a new
holiday calendar needs no rebuild.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, and_, case, delete, func, insert, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.departments import Directory
from bot.domain import Rating, Status
from bot.indicators import QUESTIONS
from bot.periods import Period, beijing_day
from bot.services.context import Services
from bot.services.statistics.figures import (
    _OPEN,
    Answers,
    Figures,
    Tally,
    TicketFacts,
    among,
    facts_of,
    figures_of,
)
from bot.workdays import WorkCalendar
from storage.models import (
    BoundChat,
    StatsDaily,
    StatsDirty,
    StatsFollowupDaily,
    StatsResolveDays,
    StatsTicket,
)

BATCH = 5000
_ANSWERS = tuple((q, a) for q, answers in QUESTIONS.items() for a in sorted(answers))
_FOLLOWUP_COUNTS = ("concluded", "unrated", "valid", *(f"{q}_{a}" for q, a in _ANSWERS))
_DAILY = (
    "voices", "merged", "accept_due", "accepted_on_time", "overdue", "resolved", "reopened",
    "resolve_due", "resolved_on_time",
)  # fmt: skip


def contribution(fact: TicketFacts) -> dict[str, Any]:
    """A ticket's `stats_tickets` row: what it adds to the rollups whatever the time."""
    counted = fact.status != Status.CANCELLED
    accepted = fact.accepted_at is not None
    resolved = fact.resolved_at is not None
    late = fact.overdue
    answer = ""
    if fact.answers is not None:
        a = fact.answers
        answer = f"{int(a.contacted)}|{a.solved}|{a.satisfaction}"
    return {
        "ticket_id": fact.id,
        "day": beijing_day(fact.filed_at),
        "department": fact.department,
        "grid_chat_id": fact.grid_chat_id or 0,
        "category": fact.category,
        "intent": fact.intent,
        "counted": counted,
        "voices": (1 + fact.merged) * counted,
        "merged": fact.merged * counted,
        "accept_due": int(counted and accepted),
        "accepted_on_time": int(
            counted and fact.accepted_at is not None and fact.accepted_at <= fact.accept_by
        ),
        "overdue": int(counted and late),
        "resolved": int(counted and resolved),
        "reopened": int(counted and resolved and fact.reopens > 0),
        "resolved_day": (
            beijing_day(fact.resolved_at) if counted and fact.resolved_at is not None else None
        ),
        "resolve_due": int(counted and (resolved or late)),
        "resolved_on_time": int(counted and resolved and not late),
        "pending_accept_by": fact.accept_by if counted and not accepted else None,
        "pending_deadline": (
            fact.deadline_at if counted and not late and fact.status in _OPEN else None
        ),
        "verdict_day": (
            beijing_day(fact.verdict_at)
            if fact.verdict is not None and fact.verdict_at is not None
            else None
        ),
        "unrated": fact.verdict == Rating.UNRATED,
        "answer": answer,
    }


def _deltas(
    rows: Iterable[dict[str, Any]], sign: int, into: dict[str, dict[tuple[Any, ...], list[int]]]
) -> None:
    """Add (sign 1) or take out (-1) these contributions from the pending rollup changes."""
    for r in rows:
        key = (r["department"], r["grid_chat_id"], r["category"])
        if r["counted"]:
            daily = into["daily"].setdefault((r["day"], *key), [0] * (1 + len(_DAILY)))
            daily[0] += sign
            for i, name in enumerate(_DAILY, start=1):
                daily[i] += sign * r[name]
            if r["resolved_day"] is not None:
                days = into["days"].setdefault((r["day"], r["resolved_day"], *key), [0])
                days[0] += sign
        if r["verdict_day"] is not None:
            counts = [1, int(r["unrated"])] + [0] * (1 + len(_ANSWERS))
            if r["answer"]:
                contacted, solved, satisfaction = r["answer"].split("|")
                counts[2] = 1
                given = Answers(contacted == "1", solved, satisfaction)
                for i, (question, answer) in enumerate(_ANSWERS, start=3):
                    counts[i] = int(given.answer(question) == answer)
            for basis, day in (("filed", r["day"]), ("closed", r["verdict_day"])):
                into_row = into["followups"].setdefault(
                    (basis, day, *key, r["intent"]), [0] * len(counts)
                )
                for i, v in enumerate(counts):
                    into_row[i] += sign * v


async def _upsert(
    session: AsyncSession, table: Any, keys: Sequence[str], values: Sequence[str], rows: Any
) -> None:
    """Add counts to rollup rows, creating them when missing (keys in order: no deadlocks)."""
    changes = [
        {**dict(zip(keys, k, strict=True)), **dict(zip(values, v, strict=True))}
        for k, v in sorted(rows.items())
        if any(v)
    ]
    if not changes:
        return
    dialect = session.get_bind().dialect.name
    upsert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    core = table.__table__  # Core, not the ORM's bulk path: a fold writes thousands of rows
    stmt = upsert(core)
    stmt = stmt.on_conflict_do_update(
        index_elements=list(keys),
        set_={v: core.c[v] + stmt.excluded[v] for v in values},
    )
    await session.execute(stmt, changes)


async def fold(session: AsyncSession, limit: int = BATCH) -> int:
    """Fold up to `limit` noted tickets into the rollups; return how many were folded."""
    taken = (
        select(StatsDirty.ticket_id).order_by(StatsDirty.ticket_id).limit(limit).with_for_update()
    )
    ids = list(
        (
            await session.execute(
                delete(StatsDirty)
                .where(StatsDirty.ticket_id.in_(taken.scalar_subquery()))
                .returning(StatsDirty.ticket_id)
            )
        ).scalars()
    )
    if not ids:
        return 0
    before = {
        r.ticket_id: dict(r._mapping)
        for r in await session.execute(
            select(*StatsTicket.__table__.columns).where(
                among(session, StatsTicket.ticket_id, ids)
            )
        )
    }
    after = {f.id: contribution(f) for f in await facts_of(session, ids, {})}
    changed = sorted(i for i in before.keys() | after.keys() if before.get(i) != after.get(i))
    if not changed:  # touched, but nothing the figures read changed
        return len(ids)
    old = [before[i] for i in changed if i in before]
    new = [after[i] for i in changed if i in after]
    changes: dict[str, dict[tuple[Any, ...], list[int]]] = {
        "daily": {}, "days": {}, "followups": {}
    }  # fmt: skip
    _deltas(old, -1, changes)
    _deltas(new, 1, changes)
    await _upsert(
        session, StatsDaily, ("day", "department", "grid_chat_id", "category"),
        ("filed", *_DAILY), changes["daily"],
    )  # fmt: skip
    await _upsert(
        session, StatsResolveDays,
        ("day", "resolved_day", "department", "grid_chat_id", "category"), ("n",),
        changes["days"],
    )  # fmt: skip
    await _upsert(
        session, StatsFollowupDaily,
        ("basis", "day", "department", "grid_chat_id", "category", "intent"), _FOLLOWUP_COUNTS,
        changes["followups"],
    )  # fmt: skip
    if old:
        gone = [r["ticket_id"] for r in old]
        await session.execute(
            delete(StatsTicket).where(among(session, StatsTicket.ticket_id, gone))
        )
    if new:
        await session.execute(insert(cast(Table, StatsTicket.__table__)), new)
    return len(ids)


async def catch_up(sessions: async_sessionmaker[AsyncSession], batches: int = 0) -> int:
    """Fold every noted ticket (or at most `batches` batches), each batch in its own
    transaction; return how many were folded."""
    total = 0
    while True:
        async with sessions.begin() as session:
            n = await fold(session)
        total += n
        batches -= 1
        if n < BATCH or batches == 0:
            return total


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
    sums = [func.sum(getattr(f, name)) for name in _FOLLOWUP_COUNTS]
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
            for (question, answer), n in zip(_ANSWERS, given, strict=True):
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
    names = ("filed", *_DAILY)
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
