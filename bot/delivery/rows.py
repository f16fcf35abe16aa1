"""The outbox rows as the sender sees them: which are due, leasing them, recording what
became of each (sent, failed, retried later, given back)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, column, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.intents import Digest, Earlier, Kind, dumps
from storage.chats import move_chat
from storage.models import BoundChat, OutboxMessage, OutboxStatus, StaffCard

HEADS_MAX = 200

# Each waiting chat's oldest row, found by walking the partial index `ix_outbox_waiting` from
# one waiting chat to the next (a loose index scan): one probe per chat, however many rows
# wait in each. The literal 'pending' lets the planner match the partial index.
HEADS = text(
    """
    WITH RECURSIVE waiting(chat_id) AS (
        SELECT (SELECT min(chat_id) FROM outbox WHERE status = 'pending')
        UNION ALL
        SELECT (SELECT min(o.chat_id) FROM outbox o
                WHERE o.status = 'pending' AND o.chat_id > w.chat_id)
        FROM waiting w WHERE w.chat_id IS NOT NULL
    )
    SELECT (SELECT min(o.id) FROM outbox o
            WHERE o.status = 'pending' AND o.chat_id = w.chat_id) AS head
    FROM waiting w WHERE w.chat_id IS NOT NULL
    """
).columns(column("head", BigInteger))


class OutboxRows:
    """Reads and writes the outbox for one sender; every call is its own short transaction."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        lease: timedelta,
        clock: Callable[[], datetime],
    ) -> None:
        self.sessions = sessions
        self.lease = lease
        self.clock = clock

    async def claim_followers(
        self,
        head: OutboxMessage,
        now: datetime,
        joins: Callable[[OutboxMessage], bool],
        most: int,
    ) -> list[OutboxMessage]:
        """Rows queued right behind `head` in its chat that go out in the same message."""
        async with self.sessions() as session:
            queued = (
                await session.execute(
                    select(OutboxMessage)
                    .where(
                        OutboxMessage.chat_id == head.chat_id,
                        OutboxMessage.status == OutboxStatus.PENDING,
                        OutboxMessage.id > head.id,
                    )
                    .order_by(OutboxMessage.id)
                    .limit(most)
                )
            ).scalars()
            run: list[OutboxMessage] = []
            for row in queued:
                if not joins(row) or row.next_attempt_at > now or row.thread_id != head.thread_id:
                    break  # a message goes to one forum topic: another topic's rows wait
                run.append(row)
        if not run:
            return []
        claimed = await self.claim([r.id for r in run], now)
        return [r for r in run if r.id in claimed]

    async def heads(self, now: datetime) -> list[OutboxMessage]:
        """Each waiting chat's oldest row, if it is due and not leased, oldest first."""
        heads = HEADS.subquery()
        stmt = (
            select(OutboxMessage)
            .where(
                OutboxMessage.id.in_(select(heads.c.head)),
                OutboxMessage.next_attempt_at <= now,
                or_(OutboxMessage.locked_until.is_(None), OutboxMessage.locked_until < now),
            )
            .order_by(OutboxMessage.id)
            .limit(HEADS_MAX)
        )
        async with self.sessions() as session:
            return list((await session.execute(stmt)).scalars())

    async def next_due_in(self, now: datetime) -> float:
        async with self.sessions() as session:
            due = (
                await session.execute(
                    select(OutboxMessage.next_attempt_at)
                    .where(OutboxMessage.status == OutboxStatus.PENDING)
                    .order_by(OutboxMessage.next_attempt_at)
                    .limit(1)
                )
            ).scalar_one_or_none()
        if due is None:
            return 5.0
        return min(5.0, max(0.05, (due - now).total_seconds()))

    async def claim(self, ids: list[int], now: datetime) -> set[int]:
        async with self.sessions.begin() as session:
            result = await session.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.id.in_(ids),
                    OutboxMessage.status == OutboxStatus.PENDING,
                    or_(OutboxMessage.locked_until.is_(None), OutboxMessage.locked_until < now),
                )
                .values(locked_until=now + self.lease, attempts=OutboxMessage.attempts + 1)
                .returning(OutboxMessage.id)
            )
            return set(result.scalars())

    async def earlier(self, chat_id: int, target: Earlier) -> int | None:
        """The Telegram id of a message sent before (None if it never went out)."""
        if target.message_id is not None:
            return target.message_id
        async with self.sessions() as session:
            return (
                await session.execute(
                    select(OutboxMessage.message_id).where(
                        OutboxMessage.idempotency_key == target.outbox_key,
                        OutboxMessage.chat_id == chat_id,
                    )
                )
            ).scalar_one_or_none()

    async def card_message(self, row: OutboxMessage) -> int | None:
        if row.ticket_id is None:
            return None
        async with self.sessions() as session:
            card = await session.get(StaffCard, (row.ticket_id, row.chat_id, row.thread_id))
        return None if card is None else card.message_id

    async def digest_of(self, chat_id: int, message_id: int) -> OutboxMessage | None:
        """The digest row that sent `message_id`, if that message is a digest."""
        async with self.sessions() as session:
            return (
                await session.execute(
                    select(OutboxMessage).where(
                        OutboxMessage.kind == Kind.DIGEST.value,
                        OutboxMessage.chat_id == chat_id,
                        OutboxMessage.message_id == message_id,
                    )
                )
            ).scalar_one_or_none()

    async def topic(self, row: OutboxMessage) -> int:
        """The forum topic a row goes to: its own, else its group's when the group has one
        binding only (0: none, the group's General)."""
        if row.thread_id:
            return row.thread_id
        async with self.sessions() as session:
            threads = (
                (
                    await session.execute(
                        select(BoundChat.thread_id)
                        .where(BoundChat.chat_id == row.chat_id)
                        .limit(2)
                    )
                )
                .scalars()
                .all()
            )
        return threads[0] if len(threads) == 1 else 0

    async def finish(
        self,
        row: OutboxMessage,
        status: OutboxStatus,
        *,
        error: str | None = None,
        message_id: int | None = None,
        method: str = "",
    ) -> None:
        async with self.sessions.begin() as session:
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == row.id)
                .values(
                    status=status,
                    last_error=error,
                    message_id=message_id,
                    sent_at=self.clock() if status == OutboxStatus.SENT else None,
                    locked_until=None,
                )
            )
            is_card = row.kind == Kind.CARD or (
                row.kind == Kind.CARD_UPDATE and method == "sendMessage"
            )
            if status == OutboxStatus.SENT and is_card and message_id and row.ticket_id:
                card = await session.get(StaffCard, (row.ticket_id, row.chat_id, row.thread_id))
                if card is None:
                    session.add(
                        StaffCard(
                            ticket_id=row.ticket_id,
                            chat_id=row.chat_id,
                            thread_id=row.thread_id,
                            message_id=message_id,
                        )
                    )
                else:
                    card.message_id = message_id

    async def migrated(self, row: OutboxMessage, new_chat_id: int) -> None:
        """The group became a supergroup: move what is stored about it, this row and the
        other waiting ones included, to be sent again at once (not a failed attempt)."""
        async with self.sessions.begin() as session:
            await move_chat(session, row.chat_id, new_chat_id)
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == row.id)
                .values(
                    chat_id=new_chat_id,
                    locked_until=None,
                    attempts=OutboxMessage.attempts - 1,
                    last_error=f"group moved to {new_chat_id}",
                )
            )

    async def keep_digest(self, row_id: int, digest: Digest) -> None:
        """Store what a digest now shows on the row that sent it (later updates rewrite it)."""
        async with self.sessions.begin() as session:
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == row_id)
                .values(kind=Kind.DIGEST.value, payload=dumps(digest))
            )

    async def release(self, row: OutboxMessage) -> None:
        """Give a claimed row back untouched (its batch head failed; it goes out later)."""
        async with self.sessions.begin() as session:
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == row.id)
                .values(locked_until=None, attempts=OutboxMessage.attempts - 1)
            )

    async def retry(self, row: OutboxMessage, delay: float, error: str, *, count: bool) -> None:
        async with self.sessions.begin() as session:
            values: dict[str, Any] = {
                "next_attempt_at": self.clock() + timedelta(seconds=delay),
                "locked_until": None,
                "last_error": error,
            }
            if not count:
                values["attempts"] = OutboxMessage.attempts - 1
            await session.execute(
                update(OutboxMessage).where(OutboxMessage.id == row.id).values(**values)
            )
