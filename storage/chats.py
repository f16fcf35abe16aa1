"""Moving everything stored about a group chat to its new id (a group became a supergroup)."""

from __future__ import annotations

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    Attachment,
    BoundChat,
    GridWorker,
    GroupPrompt,
    OutboxMessage,
    PendingInput,
    StaffCard,
    Ticket,
    TicketReporter,
)

WAITING = "pending"


async def move_chat(session: AsyncSession, old: int, new: int) -> int:
    """Re-point every stored reference to chat `old` at `new`, waiting outbox rows included;
    return how many rows changed (0: nothing to move, e.g. already moved). Never commits."""
    if old == new:
        return 0
    changed = 0
    bound = await session.get(BoundChat, old)
    if bound is not None:
        if await session.get(BoundChat, new) is None:
            session.add(
                BoundChat(
                    chat_id=new,
                    kind=bound.kind,
                    title=bound.title,
                    name=bound.name,
                    bound_by=bound.bound_by,
                    created_at=bound.created_at,
                    thread_id=bound.thread_id,
                )
            )
            await session.flush()
        workers = await session.execute(
            update(GridWorker).where(GridWorker.grid_chat_id == old).values(grid_chat_id=new)
        )
        changed += 1 + (workers.rowcount or 0)  # type: ignore[attr-defined]
        await session.execute(delete(BoundChat).where(BoundChat.chat_id == old))
    moves = [
        (Ticket.source_chat_id, None),
        (Ticket.grid_chat_id, None),
        (TicketReporter.source_chat_id, None),
        (GroupPrompt.chat_id, None),
        (Attachment.source_chat_id, None),
        (StaffCard.chat_id, None),
        (PendingInput.chat_id, None),
        (OutboxMessage.chat_id, OutboxMessage.status == WAITING),
    ]
    for column, extra in moves:
        stmt = update(column.class_).where(column == old).values({column.key: new})
        if extra is not None:
            stmt = stmt.where(extra)
        result = await session.execute(stmt)
        changed += result.rowcount or 0  # type: ignore[attr-defined]
    return changed

