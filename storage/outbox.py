"""Writing to the outbox: one intent per recipient chat, de-duplicated by its idempotency key."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot.intents import Intent, dumps
from storage.chats import Place, place_of
from storage.models import Base, OutboxMessage, OutboxStatus, utcnow


async def insert_ignore(
    session: AsyncSession, model: type[Base], values: dict[str, Any], keys: list[str]
) -> bool:
    """Insert a row unless one with the same `keys` exists; return whether it was inserted."""
    table = model.__table__
    assert isinstance(table, Table)
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = insert(table).values(**values).on_conflict_do_nothing(index_elements=keys)
    result = await session.execute(stmt)
    return bool(result.rowcount)  # type: ignore[attr-defined]


_GATHERED = "huiyin_outbox_gathered"


@contextlib.asynccontextmanager
async def together(session: AsyncSession) -> AsyncIterator[None]:
    """Queue every row enqueued inside the block in one statement as it ends (nothing if it
    raises). Only for code that reads nothing back from the outbox meanwhile: inside, `enqueue`
    cannot tell whether its key was already taken and answers True."""
    rows: list[dict[str, Any]] = []
    outer = session.info.get(_GATHERED)
    session.info[_GATHERED] = rows
    try:
        yield
    finally:
        if outer is None:
            session.info.pop(_GATHERED, None)
        else:
            session.info[_GATHERED] = outer
    if outer is not None:
        outer.extend(rows)
    elif rows:
        await _insert_ignore_many(session, rows)


async def _insert_ignore_many(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    table = OutboxMessage.__table__
    assert isinstance(table, Table)
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = insert(table).values(rows).on_conflict_do_nothing(index_elements=["idempotency_key"])
    await session.execute(stmt)


async def enqueue(
    session: AsyncSession,
    *,
    key: str,
    chat_id: int | Place,
    intent: Intent,
    ticket_id: int | None = None,
) -> bool:
    """Queue `intent` for a chat (or one forum topic of it); a second call with the same key
    adds nothing."""
    place = place_of(chat_id)
    now = utcnow()
    values: dict[str, Any] = {
        "idempotency_key": key[:128],
        "chat_id": place.chat_id,
        "thread_id": place.thread_id,
        "kind": intent.kind.value,
        "payload": dumps(intent),
        "ticket_id": ticket_id,
        "status": OutboxStatus.PENDING,
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }
    gathered = session.info.get(_GATHERED)
    if gathered is not None:
        gathered.append(values)
        return True
    return await insert_ignore(session, OutboxMessage, values, ["idempotency_key"])
