"""Questions the bot asked and the answers that complete them (notes, reasons)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import texts
from bot.domain import Action, AttachmentKind, EventKind, HuiyinError, PendingKind, Role
from bot.intents import Notice, Photo
from bot.privacy import mask_text
from bot.services import gate
from bot.services.context import Person, Services
from bot.services.handling import contact, corrections, dispatch, routing
from bot.services.handling.prompts import answers_prompt, remember
from bot.services.rating import followup
from bot.services.tickets import (
    notify_reporter,
    reply,
    reporter_ids,
)
from storage.models import Attachment, PendingInput, Ticket, TicketRating
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
    if pending.kind == PendingKind.CATEGORY_TO:
        outcome = await corrections.typed(services, session, person, ticket, body, now)
        await dispatch.answer_in_chat(session, ticket, chat_id, message_id, outcome)
        return True
    if pending.kind in dispatch.ACTIONS:
        outcome = await dispatch.complete(
            services, session, person, pending.kind, ticket, body, now
        )
        await dispatch.answer_in_chat(session, ticket, chat_id, message_id, outcome)
        return True
    action = Action.RESOLVE if pending.kind == PendingKind.RESOLVE_NOTE else Action.RETURN
    roles = await routing.roles_for(session, person.id, ticket)
    try:
        role = gate.authorise(ticket, action, roles)[1]
    except HuiyinError as exc:
        await reply(session, chat_id=chat_id, message_id=message_id, text=str(exc))
        return True
    if action == Action.RESOLVE:
        ticket.resolution_round += 1
        ticket.resolution_note = body
        ticket.reopen_reason = None
    else:
        ticket.return_reason = body
    event = (
        await gate.move(
            session,
            ticket,
            action,
            roles=role,
            actor_id=person.id,
            note=body,
            at=now,
            timetable=services,
        )
    ).event
    if action == Action.RESOLVE:
        await notify_reporter(
            session,
            ticket,
            f"resolved:{ticket.resolution_round}",
            followup.message(ticket.number, body, followup.Answers()),
            followup.keyboard(ticket.id, ticket.resolution_round, followup.Answers()),
        )
        if photo is not None:
            await _result_photo(session, ticket, photo, chat_id, message_id, now)
        done = texts.STAFF_DONE_RESOLVE
    else:
        await notify_reporter(
            session,
            ticket,
            f"returned:{event.id}",
            texts.NOTIFY_RETURNED.format(number=ticket.number, reason=body),
        )
        done = texts.STAFF_DONE_RETURN
    await reply(
        session,
        chat_id=chat_id,
        message_id=message_id,
        text=done.format(number=ticket.number),
        ticket_id=ticket.id,
    )
    return True


async def _result_photo(
    session: AsyncSession,
    ticket: Ticket,
    file_id: str,
    chat_id: int,
    message_id: int,
    now: datetime,
) -> None:
    """Keep the photo of the result on the ticket and send it to every reporter."""
    session.add(
        Attachment(
            ticket_id=ticket.id,
            kind=AttachmentKind.RESULT_PHOTO,
            file_id=file_id,
            source_chat_id=chat_id,
            source_message_id=message_id,
            created_at=now,
        )
    )
    for user_id in await reporter_ids(session, ticket):
        await enqueue(
            session,
            key=f"result_photo:{ticket.id}:{ticket.resolution_round}:{user_id}",
            chat_id=user_id,
            intent=Photo(file_id, texts.RESULT_PHOTO.format(number=ticket.number)),
            ticket_id=ticket.id,
        )


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
