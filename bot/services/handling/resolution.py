"""受理, 办结 and 退回: the department takes a ticket, answers it, or returns it to the
resident."""

from __future__ import annotations

from bot import texts
from bot.domain import Action, AttachmentKind
from bot.intents import Photo
from bot.services.context import Services
from bot.services.handling.work import Outcome, Work
from bot.services.notices.messages import deadline_text, notify_reporter
from bot.services.rating import followup
from bot.services.tickets import reporter_ids
from storage.models import Attachment, Ticket
from storage.outbox import enqueue


def resolve_question(services: Services, ticket: Ticket) -> str:
    """What the 办结 prompt asks."""
    return texts.ASK_RESOLVE_NOTE.format(number=ticket.number)


def return_question(services: Services, ticket: Ticket) -> str:
    """What the 退回 prompt asks."""
    return texts.ASK_RETURN_REASON.format(number=ticket.number)


async def accept(work: Work) -> Outcome:
    """受理: the department takes the ticket; the reporter learns the deadline."""
    ticket = work.ticket
    event = await work.move(Action.ACCEPT, None)
    await notify_reporter(
        work.session,
        ticket,
        f"accepted:{event.id}",
        texts.NOTIFY_ACCEPTED.format(number=ticket.number, deadline=deadline_text(ticket)),
    )
    return Outcome(texts.ALERT_ACCEPTED.format(number=ticket.number))


async def resolve(work: Work) -> Outcome:
    """办结: the note is the result the reporters read, with the 回访; a photo goes with it."""
    ticket, body = work.ticket, work.note
    ticket.resolution_round += 1
    ticket.resolution_note = body
    ticket.reopen_reason = None
    await work.move(Action.RESOLVE, body)
    await notify_reporter(
        work.session,
        ticket,
        f"resolved:{ticket.resolution_round}",
        followup.message(ticket.number, body, followup.Answers()),
        followup.keyboard(ticket.id, ticket.resolution_round, followup.Answers()),
    )
    if work.photo is not None:
        await _result_photo(work, work.photo)
    return Outcome(texts.STAFF_DONE_RESOLVE.format(number=ticket.number))


async def return_(work: Work) -> Outcome:
    """退回: the ticket goes back to the reporter with the reason."""
    ticket, body = work.ticket, work.note
    ticket.return_reason = body
    event = await work.move(Action.RETURN, body)
    await notify_reporter(
        work.session,
        ticket,
        f"returned:{event.id}",
        texts.NOTIFY_RETURNED.format(number=ticket.number, reason=body),
    )
    return Outcome(texts.STAFF_DONE_RETURN.format(number=ticket.number))


async def _result_photo(work: Work, file_id: str) -> None:
    """Keep the photo of the result on the ticket and send it to every reporter."""
    ticket = work.ticket
    work.session.add(
        Attachment(
            ticket_id=ticket.id,
            kind=AttachmentKind.RESULT_PHOTO,
            file_id=file_id,
            source_chat_id=work.chat_id,
            source_message_id=work.message_id,
            created_at=work.now,
        )
    )
    for user_id in await reporter_ids(work.session, ticket):
        await enqueue(
            work.session,
            key=f"result_photo:{ticket.id}:{ticket.resolution_round}:{user_id}",
            chat_id=user_id,
            intent=Photo(file_id, texts.RESULT_PHOTO.format(number=ticket.number)),
            ticket_id=ticket.id,
        )
