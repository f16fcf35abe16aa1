"""The figures from per-day rollups: the same tallies as `figures.tally`, without reading tickets.

Triggers note every ticket a write may have changed (`stats_dirty`). `fold` recomputes those
tickets' facts with `facts.load_facts`'s own code, takes each one's previous contribution out
of the rollups and puts the new one in, in one transaction; `tallies` folds whatever is still
noted, then sums the rollups over a period's days. What depends on the time of reading (a
deadline to accept by or to resolve by passing) is kept out of the rollups and added from the
few tickets still waiting on one, so the figures are those of the plain computation at any
`now`. Working days are counted on read, from (filing day, resolution day) pairs, so a new
holiday calendar needs no rebuild.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, cast

from sqlalchemy import Table, delete, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain import Rating, Status
from bot.indicators import QUESTIONS
from bot.periods import beijing_day
from bot.services.statistics.facts import among, facts_of
from bot.services.statistics.figures import (
    _OPEN,
    Answers,
    TicketFacts,
)
from storage.models import (
    StatsDaily,
    StatsDirty,
    StatsFollowupDaily,
    StatsResolveDays,
    StatsTicket,
)

BATCH = 5000
ANSWERS = tuple((q, a) for q, answers in QUESTIONS.items() for a in sorted(answers))
FOLLOWUP_COUNTS = ("concluded", "unrated", "valid", *(f"{q}_{a}" for q, a in ANSWERS))
DAILY = (
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
            daily = into["daily"].setdefault((r["day"], *key), [0] * (1 + len(DAILY)))
            daily[0] += sign
            for i, name in enumerate(DAILY, start=1):
                daily[i] += sign * r[name]
            if r["resolved_day"] is not None:
                days = into["days"].setdefault((r["day"], r["resolved_day"], *key), [0])
                days[0] += sign
        if r["verdict_day"] is not None:
            counts = [1, int(r["unrated"])] + [0] * (1 + len(ANSWERS))
            if r["answer"]:
                contacted, solved, satisfaction = r["answer"].split("|")
                counts[2] = 1
                given = Answers(contacted == "1", solved, satisfaction)
                for i, (question, answer) in enumerate(ANSWERS, start=3):
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
        ("filed", *DAILY), changes["daily"],
    )  # fmt: skip
    await _upsert(
        session, StatsResolveDays,
        ("day", "resolved_day", "department", "grid_chat_id", "category"), ("n",),
        changes["days"],
    )  # fmt: skip
    await _upsert(
        session, StatsFollowupDaily,
        ("basis", "day", "department", "grid_chat_id", "category", "intent"), FOLLOWUP_COUNTS,
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
