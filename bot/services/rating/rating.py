"""The reporter's rating of a resolution: close the ticket, or reopen it (重办)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import texts
from bot.domain import Action, Rating, Role, Status
from bot.intents import ButtonsOff, Earlier, Notice
from bot.services import gate
from bot.services.context import Person, Services
from bot.services.handling import answers, routing
from bot.services.handling.staff import ButtonAnswer
from bot.services.supervision import supervision
from bot.services.tickets import (
    format_time,
    load_ticket,
    post_cards,
    reporter_ids,
    tell_chats,
)
from storage.models import Ticket, TicketRating
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
        if person.id not in await reporter_ids(session, ticket):
            return ButtonAnswer(texts.ALERT_NOT_REPORTER, alert=True)
        already = (
            await session.execute(
                select(TicketRating.score).where(
                    TicketRating.ticket_id == ticket.id,
                    TicketRating.round == round_,
                    TicketRating.rater_id == person.id,
                )
            )
        ).scalar_one_or_none()
        if already == Rating.UNRATED:  # closed by the sweeper after the rating period
            return ButtonAnswer(texts.ALERT_RATING_ENDED, alert=True)
        if already is not None:
            return ButtonAnswer(texts.ALERT_ALREADY_RATED, alert=True)
        status = Status(ticket.status)
        if round_ != ticket.resolution_round or status not in (Status.RESOLVED, Status.CLOSED):
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
        # The rating message keeps its text but loses its buttons, so it cannot be pressed twice.
        await enqueue(
            session,
            key=f"rated:{ticket.id}:{round_}:{person.id}",
            chat_id=chat_id,
            intent=ButtonsOff(Earlier(message_id=message_id)),
            ticket_id=ticket.id,
        )
        if score == Rating.DISSATISFIED:
            await _reopen(services, session, ticket, person, round_, now)
        else:
            if status == Status.RESOLVED:
                await gate.move(
                    session,
                    ticket,
                    Action.RATE_OK,
                    roles=Role.REPORTER,
                    actor_id=person.id,
                    note=texts.RATING_NAMES[score],
                    at=now,
                )
            await enqueue(
                session,
                key=f"closed:{ticket.id}:{round_}:{person.id}",
                chat_id=person.id,
                intent=Notice(
                    texts.RATE_THANKS.format(
                        number=ticket.number, rating=texts.RATING_NAMES[score]
                    )
                ),
                ticket_id=ticket.id,
            )
    services.wake()
    return ButtonAnswer(texts.ALERT_RATED)


async def _reopen(
    services: Services,
    session: AsyncSession,
    ticket: Ticket,
    person: Person,
    round_: int,
    now: datetime,
) -> None:
    """不满意: reopen the ticket (重办), post it back to staff and ask the rater why."""
    supervision.plan(
        ticket,
        services.policy,
        services.calendar,
        start=now,
        resolve_by=services.policy.reopen_deadline(now, services.calendar),
    )
    ticket.base_deadline_at = ticket.deadline_at
    event = (
        await gate.move(
            session,
            ticket,
            Action.RATE_REOPEN,
            roles=Role.REPORTER,
            actor_id=person.id,
            note=texts.RATING_NAMES[Rating.DISSATISFIED],
            at=now,
        )
    ).event
    await post_cards(session, ticket, tag=f"reopen{round_}")
    # 不满意专区: the holder's supervisors hear of every reopened ticket.
    holders = set(await routing.holder_chats(session, ticket))
    supervisors = await routing.supervisor_chats(session, services.directory, ticket)
    await tell_chats(
        session,
        ticket,
        [c for c in supervisors if c not in holders],  # holders already have the reopened card
        f"reopen_supervise:{event.id}",
        texts.REOPEN_SUPERVISE.format(
            number=ticket.number,
            department=ticket.department_name or texts.DISPATCH_NAME,
            deadline=format_time(ticket.deadline_at),
        ),
    )
    await answers.ask(
        services,
        session,
        person_id=person.id,
        chat_id=person.id,
        kind=answers.REOPEN_REASON,
        ticket=ticket,
        now=now,
    )
    await enqueue(
        session,
        key=f"reopened:{ticket.id}:{round_}:{person.id}",
        chat_id=person.id,
        intent=Notice(texts.RATE_ASK_REASON.format(number=ticket.number)),
        ticket_id=ticket.id,
    )
    for other in await reporter_ids(session, ticket):
        if other != person.id:
            await enqueue(
                session,
                key=f"reopened:{ticket.id}:{round_}:{other}",
                chat_id=other,
                intent=Notice(texts.NOTIFY_REOPENED.format(number=ticket.number)),
                ticket_id=ticket.id,
            )
