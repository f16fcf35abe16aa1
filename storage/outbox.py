"""Writing to the outbox: one row per message, de-duplicated by its idempotency key."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Base, OutboxMessage, utcnow


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
    chat_id: int,
    text: str | None,
    method: str = "sendMessage",
    reply_markup: dict[str, Any] | None = None,
    purpose: str = "notice",
    ticket_id: int | None = None,
    extra: dict[str, Any] | None = None,
) -> bool:
    """Queue one message for `chat_id`; a second call with the same key adds nothing."""
    payload: dict[str, Any] = {} if text is None else {"text": text}
    if method == "sendMessage":
        payload["link_preview_options"] = {"is_disabled": True}
    if reply_markup is not None:
        payload["reply_markup"] = reply_markup
    if extra:
        payload.update(extra)
    return await insert_ignore(
        session,
        OutboxMessage,
        {
            "idempotency_key": key[:128],
            "chat_id": chat_id,
            "method": method,
            "payload": json.dumps(payload, ensure_ascii=False),
            "purpose": purpose,
            "ticket_id": ticket_id,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": utcnow(),
            "created_at": utcnow(),
        },
        ["idempotency_key"],
    )
