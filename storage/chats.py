"""Where the bot posts (a chat, or one forum topic of it), the bindings of group chats, and
moving everything stored about a group chat to its new id (a group became a supergroup)."""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain import ChatKind
from storage.models import (
    Attachment,
    BoundChat,
    GridWorker,
    GroupPrompt,
    OutboxMessage,
    OutboxStatus,
    PendingInput,
    StaffCard,
    Ticket,
    TicketReporter,
)


class Place(NamedTuple):
    """A chat, or one forum topic in it (`thread_id` 0: the chat itself, no topic)."""

    chat_id: int
    thread_id: int = 0

    def __str__(self) -> str:
        # Outbox keys name places this way: a place without a topic keeps its chat's key.
        return str(self.chat_id) if not self.thread_id else f"{self.chat_id}#{self.thread_id}"


def place_of(where: int | Place) -> Place:
    """The place a chat id names (the chat itself), or the place given."""
    return where if isinstance(where, Place) else Place(where)


async def bindings_of(session: AsyncSession, chat_id: int) -> list[BoundChat]:
    """Every binding made in a chat (its own, and one per bound forum topic)."""
    rows = await session.execute(
        select(BoundChat).where(BoundChat.chat_id == chat_id).order_by(BoundChat.thread_id)
    )
    return list(rows.scalars())


async def grid_binding(session: AsyncSession, chat_id: int) -> BoundChat | None:
    """The grid binding of a group (a grid group is bound as a whole), or None."""
    rows = await session.execute(
        select(BoundChat).where(BoundChat.chat_id == chat_id, BoundChat.kind == ChatKind.GRID)
    )
    return rows.scalars().first()


async def binding_for(session: AsyncSession, where: int | Place) -> BoundChat | None:
    """The binding a message at `where` falls under: its topic's own, else the chat's, else
    the chat's only binding (a group bound from one topic is that binding's everywhere)."""
    place = place_of(where)
    bindings = await bindings_of(session, place.chat_id)
    for bound in bindings:
        if bound.thread_id == place.thread_id:
            return bound
    for bound in bindings:
        if bound.thread_id == 0:
            return bound
    return bindings[0] if len(bindings) == 1 else None


async def move_chat(session: AsyncSession, old: int, new: int) -> int:
    """Re-point every stored reference to chat `old` at `new`, waiting outbox rows included;
    return how many rows changed (0: nothing to move, e.g. already moved). Never commits."""
    if old == new:
        return 0
    # The old group and the new supergroup each tell of the move, and the two messages are
    # handled at once: this first write makes the second wait until the first commits, and then
    # find nothing left to move (instead of copying the bindings a second time).
    await session.execute(
        update(BoundChat)
        .where(BoundChat.chat_id == old)
        .values(chat_id=old)
        .execution_options(synchronize_session=False)
    )
    changed = 0
    bindings = await bindings_of(session, old)
    if bindings:
        for bound in bindings:
            if await session.get(BoundChat, (new, bound.thread_id)) is None:
                session.add(
                    BoundChat(
                        chat_id=new,
                        thread_id=bound.thread_id,
                        kind=bound.kind,
                        title=bound.title,
                        name=bound.name,
                        bound_by=bound.bound_by,
                        created_at=bound.created_at,
                    )
                )
        await session.flush()
        workers = await session.execute(
            update(GridWorker).where(GridWorker.grid_chat_id == old).values(grid_chat_id=new)
        )
        changed += len(bindings) + (workers.rowcount or 0)  # type: ignore[attr-defined]
        await session.execute(delete(BoundChat).where(BoundChat.chat_id == old))
    moves = [
        (Ticket.source_chat_id, None),
        (Ticket.grid_chat_id, None),
        (TicketReporter.source_chat_id, None),
        (GroupPrompt.chat_id, None),
        (Attachment.source_chat_id, None),
        (StaffCard.chat_id, None),
        (PendingInput.chat_id, None),
        (OutboxMessage.chat_id, OutboxMessage.status == OutboxStatus.PENDING),
    ]
    for column, extra in moves:
        stmt = update(column.class_).where(column == old).values({column.key: new})
        if extra is not None:
            stmt = stmt.where(extra)
        result = await session.execute(stmt)
        changed += result.rowcount or 0  # type: ignore[attr-defined]
    return changed

