"""Writing to the outbox: one intent per recipient chat, de-duplicated by its idempotency key."""

from __future__ import annotations

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
    return await insert_ignore(
        session,
        OutboxMessage,
        {
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
        },
        ["idempotency_key"],
    )
