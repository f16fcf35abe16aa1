"""Grid groups: listen where residents talk (silence, a ticket, or a question), and let a grid
worker undo a wrong merge."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot import texts
from bot.domain import EventKind, Role
from bot.intents import GroupAnswer, Notice
from bot.services import gate
from bot.services.context import Person, Services, clean_text
from bot.services.handling import staff
from bot.services.intake import group_prompts
from bot.services.intake.abuse import is_flood, over_report_limit
from bot.services.intake.filing import Source, acknowledgement, existing_ticket, open_ticket
from bot.services.intake.grid_threads import (
    GRID_CHAT,
    Heard,
    file_in_thread,
    grid_chat_ids,
    grid_of,
    is_blocked,
    is_worker,
    report_score,
)
from bot.services.intake.merge import merged_into
from bot.services.notices.messages import reply
from bot.services.tickets import remember_user
from nlp import Decision, decide
from storage.models import Ticket, User
from storage.outbox import enqueue

__all__ = [
    "GRID_CHAT",
    "Heard",
    "file_in_thread",
    "grid_chat_ids",
    "grid_of",
    "handle_group_text",
    "hear",
    "is_silent",
    "is_worker",
    "report_score",
    "split",
]


def is_silent(services: Services, text: str) -> bool:
    """Tell, in memory, whether a grid-group post is chatter the bot neither answers nor
    files (the extractor's group decision at this deployment's thresholds)."""
    body = clean_text(text)[: services.max_text_length]
    if not body:
        return True
    decision = decide(
        services.extractor.extract(body),
        "group",
        ticket_at=services.group_confidence,
        ask_at=services.group_ask_confidence,
    )
    return decision is Decision.SILENT


async def hear(
    services: Services, author: Person, chat_id: int, message_id: int, text: str
) -> Heard:
    """Read one message of a grid group: open a ticket, ask, or stay silent."""
    now = services.clock()
    body = clean_text(text)[: services.max_text_length]
    async with services.sessions.begin() as session:
        grid = await grid_of(session, chat_id)
        if grid is None:
            return Heard("not_grid")
        extraction = services.extractor.extract(body) if body else None
        decision = (
            Decision.SILENT
            if extraction is None
            else decide(
                extraction,
                "group",
                ticket_at=services.group_confidence,
                ask_at=services.group_ask_confidence,
            )
        )
        if extraction is None or decision == Decision.SILENT:
            # Most of a group's talk: one lookup, nothing written, nothing said.
            return Heard("silent")
        if await is_blocked(session, author.id):
            return Heard("silent")
        source = Source(chat_id=chat_id, message_id=message_id, grid_chat_id=chat_id)
        existing = await existing_ticket(session, source)
        if existing is not None:
            return Heard("duplicate", existing.number)
        if await merged_into(session, chat_id, message_id) is not None:
            return Heard("duplicate")
        if await is_flood(services, chat_id, body):
            return Heard("silent")
        if decision == Decision.TICKET:
            await remember_user(session, author, started=None)
            if await over_report_limit(services, author.id):
                await _tell_limit(services, session, author, chat_id, message_id, now)
                heard = Heard("limited")
            else:
                ticket = await file_in_thread(
                    services, session, author, source, body, extraction, now, answer_to=message_id
                )
                heard = Heard("ticket", ticket.number) if ticket else Heard("duplicate")
        else:
            heard = await group_prompts.ask(
                services, session, author, chat_id, message_id, body, now
            )
    services.wake()
    return heard


async def _tell_limit(
    services: Services,
    session: AsyncSession,
    author: Person,
    chat_id: int,
    message_id: int,
    now: datetime,
) -> None:
    """Tell a resident over the hourly limit that their post was not filed: privately when the
    bot may write to them, else briefly in the thread (no personal data). Once an hour."""
    user = await session.get(User, author.id)
    hour = int(now.timestamp()) // 3600
    if user is not None and user.started_at is not None and user.blocked_bot_at is None:
        await enqueue(
            session,
            key=f"limit:{author.id}:{hour}",
            chat_id=author.id,
            intent=Notice(texts.GROUP_LIMIT_PRIVATE.format(limit=services.reports_per_hour)),
        )
    else:
        await enqueue(
            session,
            key=f"limit:{author.id}:{hour}",
            chat_id=chat_id,
            intent=GroupAnswer(texts.GROUP_LIMIT_THREAD, reply_to=message_id),
        )


async def handle_group_text(
    services: Services,
    person: Person,
    chat_id: int,
    message_id: int,
    text: str,
    photo: str | None = None,
    reply_to: int | None = None,
) -> Heard:
    """Route a group message: a post in a grid group, or an answer in a staff chat (a reply
    to the bot's prompt; a 办结 note may come with a photo)."""
    heard = await hear(services, person, chat_id, message_id, text)
    if heard.kind != "not_grid":
        return heard
    if await staff.handle_staff_chat_text(
        services, person, chat_id, message_id, text, photo=photo, reply_to=reply_to
    ):
        return Heard("answer")
    return Heard("silent")


async def split(
    services: Services,
    worker: Person,
    chat_id: int,
    command_message_id: int,
    message_id: int | None,
) -> str | None:
    """Undo a wrong merge: the replied-to post becomes a ticket of its own; return its number."""
    now = services.clock()
    number: str | None = None
    async with services.sessions.begin() as session:
        allowed = await is_worker(session, chat_id, worker.id) or services.is_admin(worker.id)
        joined = await merged_into(session, chat_id, message_id) if message_id else None
        if not allowed:
            text = texts.ONLY_WORKERS
        elif message_id is None:
            text = texts.SPLIT_USAGE
        elif joined is None:
            text = texts.SPLIT_NOT_MERGED
        else:
            original = await session.get(Ticket, joined.ticket_id, with_for_update=True)
            assert original is not None
            await session.delete(joined)
            await session.flush()
            await gate.note(
                session,
                original,
                EventKind.SPLIT,
                role=Role.WORKER,
                actor_id=worker.id,
                note=joined.text[:500],
                at=now,
            )
            author = await session.get(User, joined.user_id)
            reporter = Person(
                joined.user_id,
                author.first_name if author else "",
                author.username if author else None,
            )
            source = Source(
                chat_id=chat_id, message_id=message_id, grid_chat_id=chat_id, worker_id=None
            )
            extraction = services.extractor.extract(joined.text)
            ticket = await open_ticket(
                services, session, reporter, source, joined.text, extraction, now
            )
            assert ticket is not None
            number = ticket.number
            text = texts.SPLIT_DONE.format(number=number)
            await enqueue(
                session,
                key=f"split:{ticket.id}",
                chat_id=reporter.id,
                intent=Notice(acknowledgement(ticket)),
                ticket_id=ticket.id,
            )
        await reply(session, chat_id=chat_id, message_id=command_message_id, text=text)
    services.wake()
    return number
