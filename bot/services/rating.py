"""The reporter's rating of a resolution: close the ticket, or reopen it (重办)."""

from __future__ import annotations

from sqlalchemy import select

from bot import texts
from bot.domain import Action, Rating, Role, Status
from bot.services import answers
from bot.services.context import Person, Services
from bot.services.staff import ButtonAnswer
from bot.services.tickets import (
    load_ticket,
    notify_reporter,
    post_cards,
    record_event,
    refresh_cards,
)
from storage.models import TicketRating
from storage.outbox import enqueue


async def rate(
    services: Services,
    person: Person,
    ticket_id: int,
    round_: int,
    score_name: str,
    *,
    chat_id: int,
    message_id: int,
) -> ButtonAnswer:
    """Store the reporter's rating once per resolution; 不满意 reopens the ticket."""
    try:
        score = Rating(score_name)
    except ValueError:
        return ButtonAnswer(texts.ALERT_INVALID, alert=True)
    now = services.clock()
    async with services.sessions.begin() as session:
        ticket = await load_ticket(session, ticket_id, lock=True)
        if ticket.reporter_id != person.id:
            return ButtonAnswer(texts.ALERT_NOT_REPORTER, alert=True)
        already = (
            await session.execute(
                select(TicketRating.id).where(
                    TicketRating.ticket_id == ticket.id,
                    TicketRating.round == round_,
                    TicketRating.rater_id == person.id,
                )
            )
        ).scalar_one_or_none()
        if already is not None:
            return ButtonAnswer(texts.ALERT_ALREADY_RATED, alert=True)
        if round_ != ticket.resolution_round or ticket.status != Status.RESOLVED:
            return ButtonAnswer(texts.ALERT_STALE_RATING, alert=True)
        session.add(
            TicketRating(
                ticket_id=ticket.id,
                round=round_,
                rater_id=person.id,
                score=score.value,
                created_at=now,
            )
        )
        reopen = score == Rating.DISSATISFIED
        action = Action.RATE_REOPEN if reopen else Action.RATE_OK
        target = Status.REOPENED if reopen else Status.CLOSED
        if reopen:
            ticket.deadline_at = services.policy.reopen_deadline(now, services.calendar)
        event = await record_event(
            session,
            ticket,
            actor_id=person.id,
            role=Role.REPORTER,
            action=action.value,
            to_status=target,
            note=texts.RATING_NAMES[score],
            at=now,
        )
        await refresh_cards(session, ticket, event.id)
        # The rating message keeps its text but loses its buttons, so it cannot be pressed twice.
        await enqueue(
            session,
            key=f"rated:{ticket.id}:{round_}",
            chat_id=chat_id,
            method="editMessageReplyMarkup",
            text=None,
            purpose="rated",
            ticket_id=ticket.id,
            extra={"message_id": message_id, "reply_markup": {"inline_keyboard": []}},
        )
        if reopen:
            await post_cards(session, ticket, tag=f"reopen{round_}")
            await answers.ask(
                services,
                session,
                person_id=person.id,
                chat_id=person.id,
                kind=answers.REOPEN_REASON,
                ticket=ticket,
                now=now,
            )
            await notify_reporter(
                session,
                ticket,
                f"reopened:{round_}",
                texts.RATE_ASK_REASON.format(number=ticket.number),
            )
        else:
            await notify_reporter(
                session,
                ticket,
                f"closed:{round_}",
                texts.RATE_THANKS.format(number=ticket.number, rating=texts.RATING_NAMES[score]),
            )
    services.wake()
    return ButtonAnswer(texts.ALERT_RATED)
