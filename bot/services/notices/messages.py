"""Messages about a ticket: notices to chats and to its reporters, and answers to one message."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bot import texts
from bot.deadlines import format_deadline
from bot.intents import Keyboard, Notice
from bot.services.context import Person, Services
from bot.services.handling import routing
from bot.services.tickets import remember_user, reporter_ids
from storage.chats import Place, place_of
from storage.models import Ticket
from storage.outbox import enqueue


async def staff_chat_ids(session: AsyncSession) -> list[Place]:
    """Return the dispatch chats (总平台): where unrouted tickets and replies to them go."""
    return await routing.dispatch_chat_ids(session)

async def tell_chats(
    session: AsyncSession,
    ticket: Ticket,
    chats: list[Place],
    key: str,
    text: str,
) -> None:
    """Queue one notice about `ticket` to each chat or topic (keyed `{key}:{place}`)."""
    for chat_id in chats:
        await enqueue(
            session,
            key=f"{key}:{chat_id}",
            chat_id=chat_id,
            intent=Notice(text),
            ticket_id=ticket.id,
        )

async def notify_reporter(
    session: AsyncSession,
    ticket: Ticket,
    key: str,
    text: str,
    buttons: Keyboard = (),
) -> None:
    """Queue a private message to every reporter (and to the worker who handed it over)."""
    for user_id in await reporter_ids(session, ticket):
        await enqueue(
            session,
            key=f"{key}:{ticket.id}" + ("" if user_id == ticket.reporter_id else f":{user_id}"),
            chat_id=user_id,
            intent=Notice(text, buttons),
            ticket_id=ticket.id,
        )
    if ticket.worker_id is not None and ticket.worker_id != ticket.reporter_id:
        await enqueue(
            session,
            key=f"{key}:{ticket.id}:worker",
            chat_id=ticket.worker_id,
            intent=Notice(worker_copy(text)),
            ticket_id=ticket.id,
        )


def worker_copy(text: str) -> str:
    """A notice meant for the reporter, as the grid worker who handed the ticket over reads it."""
    text = text.replace(texts.RESIDENT_SUBJECT, texts.WORKER_SUBJECT)
    head, invited, _questions = text.partition(texts.RATE_INVITE)  # the 回访 is the reporter's
    text = head + texts.WORKER_RATE_NOTE if invited else text
    return texts.WORKER_COPY.format(text=text)


def deadline_text(ticket: Ticket) -> str:
    """Return the promised deadline as residents read it."""
    return format_deadline(ticket.deadline_at)


async def reply(
    session: AsyncSession,
    *,
    chat_id: int | Place,
    message_id: int,
    text: str,
    suffix: str = "",
    buttons: Keyboard = (),
    ticket_id: int | None = None,
) -> None:
    """Queue the answer to one incoming message (a duplicate delivery answers nothing new).
    In a group it answers the message itself, so it lands in that message's forum topic."""
    place = place_of(chat_id)
    await enqueue(
        session,
        key=f"reply:{place.chat_id}:{message_id}{suffix}",
        chat_id=place.chat_id,
        intent=Notice(text, buttons, reply_to=message_id if place.chat_id < 0 else None),
        ticket_id=ticket_id,
    )


async def answer_in_chat(services: Services, chat_id: int, message_id: int, text: str) -> None:
    """Answer one message in its chat with fixed text (the sender may be unknown)."""
    async with services.sessions.begin() as session:
        await reply(session, chat_id=chat_id, message_id=message_id, text=text)
    services.wake()


async def reply_now(services: Services, who: Person, message_id: int, text: str) -> None:
    """Answer a private message with fixed text (through the outbox, like every message)."""
    async with services.sessions.begin() as session:
        await remember_user(session, who, started=services.clock())
        await reply(session, chat_id=who.id, message_id=message_id, text=text)
    services.wake()
