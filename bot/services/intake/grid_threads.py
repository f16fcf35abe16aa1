"""A grid group's basics: which chats are grids, who works there, and a ticket filed from a post
answered in the post's thread (no personal data in the group)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import texts
from bot.domain import ChatKind
from bot.intents import GroupAnswer, Notice
from bot.services.context import Person, Services
from bot.services.intake import merge
from bot.services.intake.filing import Source, acknowledgement, open_ticket
from bot.services.notices.messages import deadline_text
from bot.services.supervision.unreachable import ticket_link
from nlp import Extraction
from storage.chats import grid_binding
from storage.models import BlockedUser, BoundChat, GridWorker, Ticket, User
from storage.outbox import enqueue

GRID_CHAT = ChatKind.GRID


@dataclass(frozen=True, slots=True)
class Heard:
    """What the bot did with one group message: a ticket, a question, or nothing."""

    kind: str  # "ticket" | "asked" | "silent" | "duplicate" | "answer" | "not_grid" | "limited"
    number: str | None = None


def report_score(extraction: Extraction) -> float:
    """How likely the message is a report, 0..1, from the extractor's decision and confidence."""
    return extraction.confidence if extraction.is_report else 1.0 - extraction.confidence


async def grid_chat_ids(services: Services) -> frozenset[int]:
    """The chats bound as grid groups (the intake caches them to decide chatter in memory)."""
    async with services.sessions() as session:
        rows = await session.execute(select(BoundChat.chat_id).where(BoundChat.kind == GRID_CHAT))
        return frozenset(int(chat_id) for chat_id in rows.scalars())


async def grid_of(session: AsyncSession, chat_id: int) -> BoundChat | None:
    """Return the grid bound to this group chat, or None."""
    return await grid_binding(session, chat_id)


async def is_worker(session: AsyncSession, grid_chat_id: int, user_id: int) -> bool:
    """Tell whether the user is a grid worker of this grid."""
    return await session.get(GridWorker, (grid_chat_id, user_id)) is not None


async def is_blocked(session: AsyncSession, user_id: int) -> bool:
    """Tell whether an admin has blocked this user from filing reports."""
    return await session.get(BlockedUser, user_id) is not None


async def file_in_thread(
    services: Services,
    session: AsyncSession,
    reporter: Person,
    source: Source,
    body: str,
    extraction: Extraction,
    now: datetime,
    *,
    answer_to: int,
) -> Ticket | None:
    """Open (or join) a ticket from a group post and answer in the thread, no personal data."""
    merged = await merge.find_same_problem(services, session, source, body, extraction, now)
    if merged is not None:
        await merge.join(session, merged, reporter, source, body, now)
        ticket = merged
    else:
        opened = await open_ticket(services, session, reporter, source, body, extraction, now)
        if opened is None:
            return None
        ticket = opened
    user = await session.get(User, reporter.id)
    reachable = user is not None and user.started_at is not None and user.blocked_bot_at is None
    link = deep_link(services, ticket.number)
    if reachable:
        thread_text = (texts.GROUP_MERGED if merged else texts.GROUP_ACK).format(
            number=ticket.number
        )
        await enqueue(
            session,
            key=f"ack:{ticket.id}:{reporter.id}:{source.message_id}",
            chat_id=reporter.id,
            intent=Notice(
                texts.MERGED_ACK.format(number=ticket.number, deadline=deadline_text(ticket))
                if merged
                else acknowledgement(ticket)
            ),
            ticket_id=ticket.id,
        )
    else:
        template = texts.GROUP_MERGED_LINK if merged else texts.GROUP_ACK_LINK
        thread_text = template.format(number=ticket.number, link=link)
    await enqueue(
        session,
        key=f"thread:{source.chat_id}:{source.message_id}",
        chat_id=source.chat_id,
        intent=GroupAnswer(thread_text, reply_to=answer_to),
        ticket_id=ticket.id,
    )
    return ticket


def thread(message_id: int) -> dict[str, object]:
    """Reply parameters that answer a message in its thread (and survive its deletion)."""
    return {"message_id": message_id, "allow_sending_without_reply": True}


def deep_link(services: Services, number: str) -> str:
    """The t.me link that opens a private chat with the bot and follows one ticket."""
    return ticket_link(services.bot_username, number)
