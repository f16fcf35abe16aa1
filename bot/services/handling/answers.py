"""Answers to the questions the bot asked: a staff action's note (carried out by `actions`),
the reason a reporter is unhappy, why staff need a reporter's contact."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import texts
from bot.domain import EventKind, PendingKind, Role
from bot.intents import Notice
from bot.privacy import mask_text
from bot.services import gate
from bot.services.context import Person, Services
from bot.services.handling import actions, contact, routing
from bot.services.handling.prompts import answers_prompt, remember
from bot.services.notices.messages import reply
from storage.models import PendingInput, Ticket, TicketRating
from storage.outbox import enqueue


async def ask(
    services: Services,
    session: AsyncSession,
    *,
    person_id: int,
    chat_id: int,
    kind: PendingKind,
    ticket: Ticket,
    now: datetime,
) -> None:
    """Remember that this person's next message in this private chat answers `kind`."""
    await remember(services, session, person_id, chat_id, kind, ticket, now, prompt_key=None)


async def take_answer(
    services: Services,
    session: AsyncSession,
    person: Person,
    chat_id: int,
    message_id: int,
    body: str,
    now: datetime,
    *,
    photo: str | None = None,
    reply_to: int | None = None,
) -> bool:
    """Complete a pending question with this message; return False when it answers none.

    In a group only the asker's reply to the prompt answers (anything else is ordinary talk).
    A 办结 note may come as the caption of a photo of the result, which the reporters get too.
    """
    pending = (
        await session.execute(
            select(PendingInput).where(
                PendingInput.user_id == person.id, PendingInput.chat_id == chat_id
            )
        )
    ).scalar_one_or_none()
    if pending is None or not await answers_prompt(session, pending, reply_to, now):
        return False
    if pending.expires_at < now:
        await session.delete(pending)
        if pending.prompt_key is None:
            return False
        await reply(session, chat_id=chat_id, message_id=message_id, text=texts.PROMPT_EXPIRED)
        return True
    if not body:
        await reply(session, chat_id=chat_id, message_id=message_id, text=texts.EMPTY_NOTE)
        return True
    ticket = await session.get(Ticket, pending.ticket_id, with_for_update=True)
    await session.delete(pending)
    if ticket is None:
        return False
    if pending.kind == PendingKind.REOPEN_REASON:
        await _reopen_reason(session, ticket, person, chat_id, message_id, body, now, pending)
        return True
    if pending.kind == PendingKind.REVEAL_REASON:
        await contact.reveal(session, ticket, person, chat_id, message_id, body, now)
        return True
    row = actions.BY_PROMPT.get(pending.kind)
    if row is None:
        return False
    await actions.complete(
        services,
        session,
        person,
        row,
        ticket,
        now,
        note=body,
        chat_id=chat_id,
        message_id=message_id,
        photo=photo,
    )
    return True


async def _reopen_reason(
    session: AsyncSession,
    ticket: Ticket,
    person: Person,
    chat_id: int,
    message_id: int,
    body: str,
    now: datetime,
    pending: PendingInput,
) -> None:
    rating = (
        await session.execute(
            select(TicketRating).where(
                TicketRating.ticket_id == ticket.id,
                TicketRating.round == pending.round,
                TicketRating.rater_id == person.id,
            )
        )
    ).scalar_one_or_none()
    if rating is not None:
        rating.reason = body
    ticket.reopen_reason = body
    event = await gate.note(
        session,
        ticket,
        EventKind.REOPEN_REASON,
        role=Role.REPORTER,
        actor_id=person.id,
        note=body,
        at=now,
    )
    for staff_chat in await routing.holder_chats(session, ticket):
        await enqueue(
            session,
            key=f"reopen_reason:{event.id}:{staff_chat}",
            chat_id=staff_chat,
            intent=Notice(
                texts.STAFF_REOPEN_REASON.format(number=ticket.number, reason=mask_text(body))
            ),
            ticket_id=ticket.id,
        )
    await reply(
        session,
        chat_id=chat_id,
        message_id=message_id,
        text=texts.RATE_REASON_THANKS.format(number=ticket.number),
        ticket_id=ticket.id,
    )
