"""延期: a department asks for a later deadline (a date and a reason); the dispatch chat
approves it (the new deadline, the resident told) or refuses it."""

from __future__ import annotations

import re
from datetime import date, datetime

from sqlalchemy import func, select

from bot import texts
from bot.buttons import CardPress
from bot.domain import Action, InvalidInput
from bot.intents import ButtonsOff, Earlier, Key, Notice, keyboard
from bot.services.context import Services
from bot.services.handling import routing
from bot.services.handling.work import Outcome, Work
from bot.services.notices.messages import deadline_text, notify_reporter, tell_chats
from bot.services.tickets import format_time
from bot.workdays import end_of_day, local_date
from storage.models import Ticket, TicketEvent
from storage.outbox import enqueue

_DATE_RE = re.compile(r"^(?:(\d{4})\s*[-/年.]\s*)?(\d{1,2})\s*[-/月.]\s*(\d{1,2})\s*[日号]?$")


def latest(services: Services, ticket: Ticket) -> datetime:
    """The latest deadline an extension may reach."""
    base = ticket.base_deadline_at or ticket.deadline_at
    return services.policy.max_extension(base, services.calendar)


def question(services: Services, ticket: Ticket) -> str:
    """What the 申请延期 prompt asks: the date (no later than the cap) and the reason."""
    return texts.ASK_EXTEND.format(
        number=ticket.number,
        deadline=format_time(ticket.deadline_at),
        latest=format_time(latest(services, ticket)),
    )


def parse_day(text: str, after: date) -> date | None:
    """Read a date such as 2026-12-20, 2026年12月20日 or 12月20日 (the next such day)."""
    m = _DATE_RE.match(text.strip())
    if m is None:
        return None
    year = int(m.group(1)) if m.group(1) else after.year
    try:
        day = date(year, int(m.group(2)), int(m.group(3)))
        if m.group(1) is None and day < after:
            day = date(year + 1, day.month, day.day)
    except ValueError:
        return None
    return day


async def request(work: Work) -> Outcome:
    """申请延期: a new date and a reason, sent to the dispatch chat for approval."""
    services, session, ticket = work.services, work.session, work.ticket
    raw_day, _, reason = work.note.strip().partition(" ")
    day = parse_day(raw_day, local_date(ticket.deadline_at))
    if day is None or not reason.strip():
        raise InvalidInput(texts.BAD_DATE.format(text=raw_day[:20]))
    to = end_of_day(day)
    if to <= ticket.deadline_at:
        raise InvalidInput(texts.DATE_NOT_LATER.format(deadline=format_time(ticket.deadline_at)))
    cap = latest(services, ticket)
    if to > cap:
        raise InvalidInput(texts.DATE_TOO_LATE.format(latest=format_time(cap)))
    if not services.calendar.is_workday(day):  # the resident is never promised a holiday
        raise InvalidInput(
            texts.DATE_NOT_WORKDAY.format(
                day=f"{day:%Y-%m-%d}", next=f"{services.calendar.next_workday(day):%Y-%m-%d}"
            )
        )
    event = await work.move(
        Action.REQUEST_EXTENSION, f"{format_time(to)}：{reason.strip()}", until=to
    )
    buttons = keyboard(
        [
            Key(texts.BUTTON_NAMES[a.value], CardPress(a, ticket.id))
            for a in (Action.APPROVE_EXTENSION, Action.REFUSE_EXTENSION)
        ]
    )
    for chat_id in await routing.dispatch_chat_ids(session):
        await enqueue(
            session,
            key=f"extreq:{ticket.id}:{event.id}:{chat_id}",
            chat_id=chat_id,
            intent=Notice(
                texts.EXTENSION_REQUEST.format(
                    number=ticket.number,
                    department=routing.holder_name(ticket),
                    deadline=format_time(ticket.deadline_at),
                    to=format_time(to),
                    reason=reason.strip(),
                ),
                buttons,
            ),
            ticket_id=ticket.id,
        )
    return Outcome(texts.STAFF_DONE_EXTEND.format(number=ticket.number, to=format_time(to)))


async def approve(work: Work) -> Outcome:
    """同意延期: the new deadline stands; the resident is told."""
    return await _decide(work, approve=True)


async def refuse(work: Work) -> Outcome:
    """不同意延期: the deadline stays."""
    return await _decide(work, approve=False)


async def _decide(work: Work, *, approve: bool) -> Outcome:
    """The dispatcher approves (new deadline, resident told) or refuses a 延期 request."""
    session, ticket = work.session, work.ticket
    to = ticket.extension_to
    assert to is not None
    old = ticket.deadline_at
    requested = (
        await session.execute(
            select(func.max(TicketEvent.id)).where(
                TicketEvent.ticket_id == ticket.id,
                TicketEvent.action == Action.REQUEST_EXTENSION.value,
            )
        )
    ).scalar_one()
    action = Action.APPROVE_EXTENSION if approve else Action.REFUSE_EXTENSION
    event = await work.move(action, format_time(to))
    if approve:
        text = texts.EXTENSION_APPROVED.format(number=ticket.number, to=format_time(to))
        await notify_reporter(
            session,
            ticket,
            f"extended:{event.id}",
            texts.NOTIFY_EXTENDED.format(number=ticket.number, deadline=deadline_text(ticket)),
        )
    else:
        text = texts.EXTENSION_REFUSED.format(number=ticket.number, deadline=format_time(old))
    for chat_id in await routing.dispatch_chat_ids(session):
        # The request loses its buttons, so it cannot be decided twice.
        await enqueue(
            session,
            key=f"extdone:{event.id}:{chat_id}",
            chat_id=chat_id,
            intent=ButtonsOff(Earlier(outbox_key=f"extreq:{ticket.id}:{requested}:{chat_id}")),
            ticket_id=ticket.id,
        )
    holders = await routing.holder_chats(session, ticket)
    await tell_chats(session, ticket, holders, f"extdecided:{event.id}", text)
    return Outcome(text)
