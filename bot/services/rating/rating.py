"""The reporter's 回访 of a resolution: three answers; the last closes or reopens (重办)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import texts
from bot.domain import Action, PendingKind, Rating, Role, Solved, Status
from bot.intents import Earlier, Edit, Notice
from bot.services import gate
from bot.services.context import ButtonAnswer, Person, Services
from bot.services.handling import answers, routing
from bot.services.notices.cards import post_cards
from bot.services.notices.messages import tell_chats
from bot.services.rating import followup
from bot.services.tickets import format_time, load_ticket, reporter_ids
from storage.models import Followup, Ticket, TicketRating
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
    """Answer 对办理结果是否满意: it ends the 回访; 不满意 reopens the ticket (重办)."""
    try:
        score = Rating(score_name)
    except ValueError:
        return ButtonAnswer(texts.ALERT_INVALID, alert=True)
    if score == Rating.UNRATED:
        return ButtonAnswer(texts.ALERT_INVALID, alert=True)
    return await _press(
        services,
        person,
        ticket_id,
        round_,
        followup.SATISFACTION,
        score.value,
        chat_id,
        message_id,
    )


async def answer(
    services: Services,
    person: Person,
    ticket_id: int,
    round_: int,
    question: str,
    choice: str,
    *,
    chat_id: int,
    message_id: int,
) -> ButtonAnswer:
    """Answer 承办单位是否联系过您 (``c``: 1 or 0) or 问题是否解决 (``s``: a Solved value)."""
    value: bool | str
    if question == followup.CONTACTED and choice in ("0", "1"):
        value = choice == "1"
    elif question == followup.SOLVED and choice in set(Solved):
        value = choice
    else:
        return ButtonAnswer(texts.ALERT_INVALID, alert=True)
    return await _press(services, person, ticket_id, round_, question, value, chat_id, message_id)


def _answers(row: Followup) -> followup.Answers:
    return followup.Answers(row.contacted, row.solved, row.satisfaction)


async def _press(
    services: Services,
    person: Person,
    ticket_id: int,
    round_: int,
    question: str,
    value: bool | str,
    chat_id: int,
    message_id: int,
) -> ButtonAnswer:
    """Store one answer of this reporter's 回访 and show the next question in the same message."""
    now = services.clock()
    async with services.sessions.begin() as session:
        ticket = await load_ticket(session, ticket_id, lock=True)
        if person.id not in await reporter_ids(session, ticket):
            return ButtonAnswer(texts.ALERT_NOT_REPORTER, alert=True)
        verdict = (
            await session.execute(
                select(TicketRating.score).where(
                    TicketRating.ticket_id == ticket.id,
                    TicketRating.round == round_,
                    TicketRating.rater_id == person.id,
                )
            )
        ).scalar_one_or_none()
        if verdict == Rating.UNRATED:
            return ButtonAnswer(texts.ALERT_RATING_ENDED, alert=True)
        if verdict is not None:
            return ButtonAnswer(texts.ALERT_ALREADY_RATED, alert=True)
        status = Status(ticket.status)
        if round_ != ticket.resolution_round or status not in (Status.RESOLVED, Status.CLOSED):
            return ButtonAnswer(texts.ALERT_STALE_RATING, alert=True)
        row = await _followup_row(session, ticket, person.id, now)
        before = _answers(row)
        already = {
            followup.CONTACTED: before.contacted,
            followup.SOLVED: before.solved,
            followup.SATISFACTION: before.satisfaction,
        }[question]
        if already is None:
            if question == followup.CONTACTED:
                row.contacted = bool(value)
            elif question == followup.SOLVED:
                row.solved = str(value)
            else:
                row.satisfaction = str(value)
                row.completed_at = now
            row.updated_at = now
        answers = _answers(row)
        text = followup.message(ticket.number, ticket.resolution_note or "", answers)
        if answers.satisfaction is not None and already is None:
            score = Rating(answers.satisfaction)
            await _conclude(services, session, ticket, person, round_, score, now)
            if score == Rating.DISSATISFIED:
                text += texts.FOLLOWUP_REOPENED.format(number=ticket.number)
            else:
                text += texts.FOLLOWUP_DONE.format(
                    number=ticket.number, rating=texts.RATING_NAMES[score]
                )
        markup = followup.keyboard(ticket.id, round_, answers)
        # The message pressed is edited to show the answer and the next question (or none).
        await enqueue(
            session,
            key=f"followup:{ticket.id}:{round_}:{person.id}:{question}:{message_id}",
            chat_id=chat_id,
            intent=Edit(Earlier(message_id=message_id), text, markup),
            ticket_id=ticket.id,
        )
    services.wake()
    if already is not None:
        return ButtonAnswer(texts.ALERT_ALREADY_ANSWERED)
    if answers.satisfaction is not None:
        return ButtonAnswer(texts.ALERT_RATED)
    return ButtonAnswer(texts.ALERT_ANSWERED)


async def _followup_row(
    session: AsyncSession, ticket: Ticket, rater_id: int, now: datetime
) -> Followup:
    row = (
        await session.execute(
            select(Followup).where(
                Followup.ticket_id == ticket.id,
                Followup.round == ticket.resolution_round,
                Followup.rater_id == rater_id,
            )
        )
    ).scalar_one_or_none()
    if row is None:
        row = Followup(
            ticket_id=ticket.id,
            round=ticket.resolution_round,
            rater_id=rater_id,
            created_at=now,
            updated_at=now,
        )
        session.add(row)
    return row


async def progress_of(session: AsyncSession, ticket: Ticket, rater_id: int) -> followup.Answers:
    """What this reporter has answered in the current round's 回访 (nothing yet: all None)."""
    row = (
        await session.execute(
            select(Followup).where(
                Followup.ticket_id == ticket.id,
                Followup.round == ticket.resolution_round,
                Followup.rater_id == rater_id,
            )
        )
    ).scalar_one_or_none()
    return followup.Answers() if row is None else _answers(row)


async def _conclude(
    services: Services,
    session: AsyncSession,
    ticket: Ticket,
    person: Person,
    round_: int,
    score: Rating,
    now: datetime,
) -> None:
    """The satisfaction answer is the verdict: close the ticket, or reopen it on 不满意."""
    session.add(
        TicketRating(
            ticket_id=ticket.id,
            round=round_,
            rater_id=person.id,
            score=score.value,
            created_at=now,
        )
    )
    if score == Rating.DISSATISFIED:
        await _reopen(services, session, ticket, person, round_, now)
    elif Status(ticket.status) == Status.RESOLVED:
        await gate.move(
            session,
            ticket,
            Action.RATE_OK,
            roles=Role.REPORTER,
            actor_id=person.id,
            note=texts.RATING_NAMES[score],
            at=now,
            timetable=services,
        )


async def _reopen(
    services: Services,
    session: AsyncSession,
    ticket: Ticket,
    person: Person,
    round_: int,
    now: datetime,
) -> None:
    """不满意: reopen the ticket (重办), post it back to staff and ask the rater why."""
    event = (
        await gate.move(
            session,
            ticket,
            Action.RATE_REOPEN,
            roles=Role.REPORTER,
            actor_id=person.id,
            note=texts.RATING_NAMES[Rating.DISSATISFIED],
            at=now,
            timetable=services,
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
        kind=PendingKind.REOPEN_REASON,
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
