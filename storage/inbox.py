"""The inbox: updates stored before they are confirmed to Telegram, claimed and marked handled.

Rows move ``pending`` → ``done`` (the mark commits with the handler's effects) or, after too
many failures, ``dead``. A worker *claims* a pending row by writing a fresh token and a lease
(``locked_until``); only the chat's oldest pending row can be claimed, so each chat's updates
are handled in order by however many workers and instances there are. Marking a row done
checks the token: a worker whose lease ran out and was overtaken gets ``False`` and its
transaction must roll back (nothing is handled twice).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Table, and_, delete, exists, or_, select, text, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session, aliased

from storage.models import InboxStatus, InboxUpdate, UpdateKind

PENDING, DONE, DEAD = InboxStatus.PENDING, InboxStatus.DONE, InboxStatus.DEAD
KEEP_HANDLED = timedelta(hours=48)  # Telegram keeps unconfirmed updates for 24 hours


@dataclass(frozen=True, slots=True)
class Incoming:
    """One update as received: its id, the chat it belongs to, its raw JSON; `done` when it
    was already decided in memory (silent chatter) and needs no handler."""

    update_id: int
    chat_key: int
    kind: UpdateKind
    payload: str
    done: bool = False


@dataclass(frozen=True, slots=True)
class Claimed:
    """A stored update a worker now holds."""

    id: int
    update_id: int
    chat_key: int
    payload: str
    attempts: int
    claim: str


@dataclass(frozen=True, slots=True)
class Failed:
    """A dead-lettered update, for operators."""

    id: int
    update_id: int
    chat_key: int
    kind: UpdateKind
    attempts: int
    last_error: str
    received_at: datetime


def new_token() -> str:
    """A fresh claim token."""
    return secrets.token_hex(8)


def _table() -> Table:
    table = InboxUpdate.__table__
    assert isinstance(table, Table)
    return table


_UNNEST_INSERT = text(
    "INSERT INTO inbox (update_id, chat_key, kind, payload, status, attempts, next_attempt_at,"
    " received_at, handled_at)"
    " SELECT u, c, k, p, s, 0, :now, :now, h"
    " FROM unnest(CAST(:u AS bigint[]), CAST(:c AS bigint[]), CAST(:k AS varchar[]),"
    " CAST(:p AS text[]), CAST(:s AS varchar[]), CAST(:h AS timestamp[])) AS t(u, c, k, p, s, h)"
    " ON CONFLICT (update_id) DO NOTHING"
)


async def store(session: AsyncSession, items: Sequence[Incoming], now: datetime) -> int:
    """Insert a batch in one statement (a redelivered update_id is skipped); return how many
    were new."""
    if not items:
        return 0
    if session.get_bind().dialect.name == "postgresql":
        # One statement with one array per column: no per-row parameters to bind or compile.
        naive = now.astimezone(UTC).replace(tzinfo=None)
        result = await session.execute(
            _UNNEST_INSERT,
            {
                "now": naive,
                "u": [i.update_id for i in items],
                "c": [i.chat_key for i in items],
                "k": [UpdateKind(i.kind).value for i in items],
                "p": [i.payload for i in items],
                "s": [DONE if i.done else PENDING for i in items],
                "h": [naive if i.done else None for i in items],
            },
        )
        return int(result.rowcount)  # type: ignore[attr-defined]
    rows = [
        {
            "update_id": item.update_id,
            "chat_key": item.chat_key,
            "kind": item.kind,
            "payload": item.payload,
            "status": DONE if item.done else PENDING,
            "attempts": 0,
            "next_attempt_at": now,
            "locked_until": None,
            "claim": None,
            "last_error": None,
            "received_at": now,
            "handled_at": now if item.done else None,
        }
        for item in items
    ]
    table = _table()
    stmt = (
        sqlite_insert(table)
        .on_conflict_do_nothing(index_elements=["update_id"])
        .returning(table.c.id)
    )
    result = await session.execute(stmt, rows)
    return len(result.all())


async def store_alone(
    sessions: async_sessionmaker[AsyncSession], items: Sequence[Incoming], now: datetime
) -> int:
    """Insert a batch that nothing else rides with: on PostgreSQL one statement that commits
    by itself (one round trip, no BEGIN or COMMIT); durable when this returns."""
    async with sessions() as session:
        if session.get_bind().dialect.name == "postgresql":
            await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        new = await store(session, items, now)
        await session.commit()
    return new


async def claim(
    session: AsyncSession,
    now: datetime,
    *,
    limit: int,
    lease: timedelta,
    per_claim: int = 200,
) -> list[Claimed]:
    """Claim the chats (up to `limit`) whose oldest pending row is free: that row and the
    chat's pending rows after it (at most `per_claim` rows in all), in id order, for `lease`.
    Whoever holds a chat's oldest row is the only one who can hold the rest."""
    if limit <= 0:
        return []
    pg = session.get_bind().dialect.name == "postgresql"
    older = aliased(InboxUpdate)
    free = or_(InboxUpdate.locked_until.is_(None), InboxUpdate.locked_until < now)
    heads = (
        select(InboxUpdate.chat_key)
        .where(
            InboxUpdate.status == PENDING,
            InboxUpdate.next_attempt_at <= now,
            free,
            ~exists().where(
                older.chat_key == InboxUpdate.chat_key,
                older.status == PENDING,
                older.id < InboxUpdate.id,
            ),
        )
        .order_by(InboxUpdate.id)
        .limit(limit)
    )
    if pg:
        heads = heads.with_for_update(skip_locked=True)
    rows = (
        select(InboxUpdate.id)
        .where(
            InboxUpdate.status == PENDING, free, InboxUpdate.chat_key.in_(heads.scalar_subquery())
        )
        .order_by(InboxUpdate.id)
        .limit(per_claim)
    )
    if pg:
        rows = rows.with_for_update(skip_locked=True)
    token = new_token()
    stmt = (
        update(InboxUpdate)
        .where(InboxUpdate.id.in_(rows.scalar_subquery()))
        .values(locked_until=now + lease, claim=token)
        .returning(
            InboxUpdate.id,
            InboxUpdate.update_id,
            InboxUpdate.chat_key,
            InboxUpdate.payload,
            InboxUpdate.attempts,
        )
        .execution_options(synchronize_session=False)
    )
    found = (await session.execute(stmt)).all()
    claimed = [Claimed(r[0], r[1], r[2], r[3], r[4], token) for r in found]
    claimed.sort(key=lambda c: c.id)
    return claimed


async def unclaim(session: AsyncSession, rows: Sequence[Claimed]) -> None:
    """Give back claimed rows not yet handled (an earlier row of their chat did not finish)."""
    if not rows:
        return
    await session.execute(
        update(InboxUpdate)
        .where(
            InboxUpdate.id.in_([r.id for r in rows]),
            InboxUpdate.claim == rows[0].claim,
            InboxUpdate.status == PENDING,
        )
        .values(locked_until=None, claim=None)
        .execution_options(synchronize_session=False)
    )


def _done_stmt(row_id: int, token: str, now: datetime) -> Any:
    return (
        update(InboxUpdate)
        .where(InboxUpdate.id == row_id, InboxUpdate.claim == token, InboxUpdate.status == PENDING)
        .values(status=DONE, handled_at=now, locked_until=None, payload="")
        .execution_options(synchronize_session=False)
    )


def mark_done_sync(session: Session, row_id: int, token: str, now: datetime) -> bool:
    """Mark a claimed row handled inside the caller's transaction (from a session hook);
    False when the claim was lost to another worker."""
    result = session.execute(_done_stmt(row_id, token, now))
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def mark_done(session: AsyncSession, row_id: int, token: str, now: datetime) -> bool:
    """Mark a claimed row handled (an update whose handling wrote nothing)."""
    result = await session.execute(_done_stmt(row_id, token, now))
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def release(session: AsyncSession, row_id: int, token: str, *, retry_at: datetime) -> None:
    """Give a claimed row back without counting a failure (the database was unreachable)."""
    await session.execute(
        update(InboxUpdate)
        .where(InboxUpdate.id == row_id, InboxUpdate.claim == token, InboxUpdate.status == PENDING)
        .values(locked_until=None, claim=None, next_attempt_at=retry_at)
        .execution_options(synchronize_session=False)
    )


async def fail(
    session: AsyncSession,
    row: Claimed,
    error: str,
    now: datetime,
    *,
    max_attempts: int,
    backoff: float,
) -> InboxStatus | None:
    """Count a failed attempt: retry later with backoff, or dead-letter after `max_attempts`.
    Return the new status, or None when the claim was lost."""
    attempts = row.attempts + 1
    dead = attempts >= max_attempts
    delay = timedelta(seconds=min(backoff * 2 ** (attempts - 1), 300.0))
    result = await session.execute(
        update(InboxUpdate)
        .where(
            InboxUpdate.id == row.id, InboxUpdate.claim == row.claim, InboxUpdate.status == PENDING
        )
        .values(
            attempts=attempts,
            status=DEAD if dead else PENDING,
            last_error=error[:2000],
            locked_until=None,
            claim=None,
            next_attempt_at=now + delay,
            handled_at=now if dead else None,
        )
        .execution_options(synchronize_session=False)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        return None
    return DEAD if dead else PENDING


async def prune(session: AsyncSession, now: datetime, keep: timedelta = KEEP_HANDLED) -> int:
    """Delete handled rows older than `keep`; free the update_id of old dead rows (Telegram may
    use it again), keeping the rows for operators. Return how many were deleted."""
    cutoff = now - keep
    deleted = await session.execute(
        delete(InboxUpdate)
        .where(InboxUpdate.status == DONE, InboxUpdate.received_at < cutoff)
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(InboxUpdate)
        .where(
            InboxUpdate.status == DEAD,
            InboxUpdate.received_at < cutoff,
            InboxUpdate.update_id >= 0,
        )
        .values(update_id=-InboxUpdate.id)
        .execution_options(synchronize_session=False)
    )
    return int(deleted.rowcount)  # type: ignore[attr-defined]


async def failed(session: AsyncSession, limit: int = 100) -> list[Failed]:
    """The dead-lettered updates, oldest first."""
    rows = (
        await session.execute(
            select(InboxUpdate)
            .where(InboxUpdate.status == DEAD)
            .order_by(InboxUpdate.id)
            .limit(limit)
        )
    ).scalars()
    return [
        Failed(
            r.id, r.update_id, r.chat_key, r.kind, r.attempts, r.last_error or "", r.received_at
        )
        for r in rows
    ]


async def retry(session: AsyncSession, now: datetime, ids: Sequence[int] | None) -> int:
    """Queue dead-lettered rows again (`ids`, or all when None); return how many."""
    where = [InboxUpdate.status == DEAD]
    if ids is not None:
        where.append(InboxUpdate.id.in_(list(ids)))
    result = await session.execute(
        update(InboxUpdate)
        .where(and_(*where))
        .values(
            status=PENDING,
            attempts=0,
            next_attempt_at=now,
            locked_until=None,
            claim=None,
            handled_at=None,
        )
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def counts(session: AsyncSession) -> dict[str, int]:
    """How many rows there are in each status."""
    from sqlalchemy import func

    rows = await session.execute(
        select(InboxUpdate.status, func.count()).group_by(InboxUpdate.status)
    )
    return {status: int(n) for status, n in rows.all()}
