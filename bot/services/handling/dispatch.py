"""Dispatch and department actions: 派单, 转派, 退单, 协办, 申请延期 (and its approval), 提级.

Each action is asked for with a card button, answered with a reply in the chat (the department,
the reason, the date), checked against the state machine with the person's roles from the
database, and written as one transaction: the ticket, its audit row and every message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import texts
from bot.buttons import CardPress
from bot.departments import Department
from bot.domain import (
    Action,
    IllegalTransition,
    InvalidInput,
    NotAllowed,
    PendingKind,
    Role,
)
from bot.intents import ButtonsOff, Earlier, Key, Notice, keyboard
from bot.services import gate
from bot.services.context import Person, Services
from bot.services.handling import routing
from bot.services.tickets import (
    deadline_text,
    format_time,
    notify_reporter,
    post_cards,
    reply,
    tell_chats,
)
from bot.workdays import end_of_day, local_date
from storage.models import Ticket, TicketAssist, TicketEvent
from storage.outbox import enqueue, insert_ignore

# The pending-question kind each prompted action waits for.
KINDS: dict[Action, PendingKind] = {
    Action.ASSIGN: PendingKind.ASSIGN_TO,
    Action.TRANSFER: PendingKind.TRANSFER_TO,
    Action.SEND_BACK: PendingKind.SEND_BACK_REASON,
    Action.ASSIST: PendingKind.ASSIST_WITH,
    Action.REQUEST_EXTENSION: PendingKind.EXTEND_TO,
    Action.ESCALATE: PendingKind.ESCALATE_REASON,
}
ACTIONS: dict[PendingKind, Action] = {kind: action for action, kind in KINDS.items()}

_SPLIT_RE = re.compile(r"[\s、，,；;]+")
_DATE_RE = re.compile(r"^(?:(\d{4})\s*[-/年.]\s*)?(\d{1,2})\s*[-/月.]\s*(\d{1,2})\s*[日号]?$")


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a completed action tells the person who answered (and whether it happened)."""

    text: str
    done: bool = True


def prompt(services: Services, ticket: Ticket, action: Action) -> str:
    """The question a prompted action asks in the chat; raise InvalidInput when it cannot be."""
    number = ticket.number
    if action == Action.ASSIGN:
        return texts.ASK_ASSIGN.format(number=number)
    if action == Action.TRANSFER:
        return texts.ASK_TRANSFER.format(number=number)
    if action == Action.SEND_BACK:
        return texts.ASK_SEND_BACK.format(number=number)
    if action == Action.ASSIST:
        return texts.ASK_ASSIST.format(number=number)
    if action == Action.REQUEST_EXTENSION:
        return texts.ASK_EXTEND.format(
            number=number,
            deadline=format_time(ticket.deadline_at),
            latest=format_time(_latest_extension(services, ticket)),
        )
    parent = services.directory.parent(ticket.department)
    if parent is None:
        raise InvalidInput(texts.NO_PARENT.format(name=_holder_name(ticket)))
    return texts.ASK_ESCALATE.format(number=number, parent=parent.name)


async def complete(
    services: Services,
    session: AsyncSession,
    person: Person,
    kind: PendingKind,
    ticket: Ticket,
    body: str,
    now: datetime,
) -> Outcome:
    """Carry out the action a staff member's answer completes; nothing changes on a refusal."""
    action = ACTIONS[kind]
    roles = await routing.roles_for(session, person.id, ticket)
    try:
        role = gate.authorise(ticket, action, roles)[1]
    except (IllegalTransition, NotAllowed) as exc:
        return Outcome(str(exc), done=False)
    try:
        if action in (Action.ASSIGN, Action.TRANSFER):
            return await _move(services, session, person, ticket, action, role, body, now)
        if action == Action.SEND_BACK:
            return await _send_back(services, session, person, ticket, role, body, now)
        if action == Action.ASSIST:
            return await _assist(services, session, person, ticket, role, body, now)
        if action == Action.REQUEST_EXTENSION:
            return await _request_extension(services, session, person, ticket, role, body, now)
        department = await escalate(
            services, session, ticket, actor_id=person.id, role=role, reason=body, now=now
        )
        assert department is not None
        return Outcome(
            texts.STAFF_DONE_ESCALATE.format(number=ticket.number, name=department.name)
        )
    except InvalidInput as exc:
        return Outcome(str(exc), done=False)


def _holder_name(ticket: Ticket) -> str:
    return ticket.department_name or texts.DISPATCH_NAME


def _find(services: Services, name: str) -> Department:
    department = services.directory.find(name)
    if department is None:
        raise InvalidInput(texts.UNKNOWN_DEPARTMENT.format(name=name[:40]))
    return department


def _hand_over(ticket: Ticket, department: Department | None) -> None:
    ticket.department = department.code if department else None
    ticket.department_name = department.name if department else None


async def _move(
    services: Services,
    session: AsyncSession,
    person: Person,
    ticket: Ticket,
    action: Action,
    role: Role,
    body: str,
    now: datetime,
) -> Outcome:
    """派单 (a department name) or 转派 (a department name, then the reason)."""
    name, _, reason = body.strip().partition(" ")
    if action == Action.ASSIGN:
        name, reason = body.strip(), ""
    department = _find(services, name)
    if action == Action.TRANSFER and not reason.strip():
        raise InvalidInput(texts.NEED_REASON)
    if department.code == ticket.department:
        raise InvalidInput(
            texts.SAME_DEPARTMENT.format(number=ticket.number, name=department.name)
        )
    source = _holder_name(ticket)
    _hand_over(ticket, department)
    note = department.name + (f"：{reason.strip()}" if reason.strip() else "")
    event = (
        await gate.move(
            session,
            ticket,
            action,
            roles=role,
            actor_id=person.id,
            note=note,
            at=now,
            timetable=services,
        )
    ).event
    chats = await routing.holder_chats(session, ticket)
    if action == Action.TRANSFER:
        await tell_chats(
            session,
            ticket,
            chats,
            f"transferred:{event.id}",
            texts.NOTICE_TRANSFERRED.format(
                number=ticket.number, source=source, reason=reason.strip()
            ),
        )
    await post_cards(session, ticket, tag=f"{action.value}{event.id}", chats=chats)
    done = texts.STAFF_DONE_ASSIGN if action == Action.ASSIGN else texts.STAFF_DONE_TRANSFER
    return Outcome(done.format(number=ticket.number, name=department.name))


async def _send_back(
    services: Services,
    session: AsyncSession,
    person: Person,
    ticket: Ticket,
    role: Role,
    reason: str,
    now: datetime,
) -> Outcome:
    """退单: the department gives the ticket back to the dispatch chat, with its reason."""
    source = _holder_name(ticket)
    _hand_over(ticket, None)
    event = (
        await gate.move(
            session,
            ticket,
            Action.SEND_BACK,
            roles=role,
            actor_id=person.id,
            note=reason,
            at=now,
            timetable=services,
        )
    ).event
    chats = await routing.dispatch_chat_ids(session)
    await tell_chats(
        session,
        ticket,
        chats,
        f"sent_back:{event.id}",
        texts.NOTICE_SENT_BACK.format(number=ticket.number, source=source, reason=reason),
    )
    await post_cards(session, ticket, tag=f"send_back{event.id}", chats=chats)
    return Outcome(texts.STAFF_DONE_SEND_BACK.format(number=ticket.number))


async def _assist(
    services: Services,
    session: AsyncSession,
    person: Person,
    ticket: Ticket,
    role: Role,
    body: str,
    now: datetime,
) -> Outcome:
    """协办: add cooperating departments; the lead department keeps the ticket."""
    wanted = [_find(services, name) for name in _SPLIT_RE.split(body.strip()) if name]
    added = [d for d in dict.fromkeys(wanted) if d.code != ticket.department]
    if not added:
        raise InvalidInput(texts.UNKNOWN_DEPARTMENT.format(name=body[:40]))
    for department in added:
        await insert_ignore(
            session,
            TicketAssist,
            {
                "ticket_id": ticket.id,
                "department": department.code,
                "name": department.name,
                "added_by": person.id,
                "created_at": now,
            },
            ["ticket_id", "department"],
        )
    names = "、".join(d.name for d in added)
    event = (
        await gate.move(
            session,
            ticket,
            Action.ASSIST,
            roles=role,
            actor_id=person.id,
            note=names,
            at=now,
            timetable=services,
        )
    ).event
    for department in added:
        chats = await routing.department_chats(session, department.code)
        await tell_chats(
            session,
            ticket,
            chats,
            f"assist:{event.id}",
            texts.NOTICE_ASSIST.format(lead=_holder_name(ticket), number=ticket.number),
        )
        await post_cards(session, ticket, tag=f"assist{event.id}", chats=chats)
    return Outcome(texts.STAFF_DONE_ASSIST.format(names=names, number=ticket.number))


def _latest_extension(services: Services, ticket: Ticket) -> datetime:
    base = ticket.base_deadline_at or ticket.deadline_at
    return services.policy.max_extension(base, services.calendar)


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


async def _request_extension(
    services: Services,
    session: AsyncSession,
    person: Person,
    ticket: Ticket,
    role: Role,
    body: str,
    now: datetime,
) -> Outcome:
    """申请延期: a new date and a reason, sent to the dispatch chat for approval."""
    raw_day, _, reason = body.strip().partition(" ")
    day = parse_day(raw_day, local_date(ticket.deadline_at))
    if day is None or not reason.strip():
        raise InvalidInput(texts.BAD_DATE.format(text=raw_day[:20]))
    to = end_of_day(day)
    if to <= ticket.deadline_at:
        raise InvalidInput(texts.DATE_NOT_LATER.format(deadline=format_time(ticket.deadline_at)))
    latest = _latest_extension(services, ticket)
    if to > latest:
        raise InvalidInput(texts.DATE_TOO_LATE.format(latest=format_time(latest)))
    if not services.calendar.is_workday(day):  # the resident is never promised a holiday
        raise InvalidInput(
            texts.DATE_NOT_WORKDAY.format(
                day=f"{day:%Y-%m-%d}", next=f"{services.calendar.next_workday(day):%Y-%m-%d}"
            )
        )
    event = (
        await gate.move(
            session,
            ticket,
            Action.REQUEST_EXTENSION,
            roles=role,
            actor_id=person.id,
            note=f"{format_time(to)}：{reason.strip()}",
            at=now,
            timetable=services,
            until=to,
        )
    ).event
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
                    department=_holder_name(ticket),
                    deadline=format_time(ticket.deadline_at),
                    to=format_time(to),
                    reason=reason.strip(),
                ),
                buttons,
            ),
            ticket_id=ticket.id,
        )
    return Outcome(texts.STAFF_DONE_EXTEND.format(number=ticket.number, to=format_time(to)))


async def decide_extension(
    services: Services,
    session: AsyncSession,
    person: Person,
    ticket: Ticket,
    approve: bool,
    role: Role,
    now: datetime,
) -> str:
    """The dispatcher approves (new deadline, resident told) or refuses a 延期 request."""
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
    event = (
        await gate.move(
            session,
            ticket,
            action,
            roles=role,
            actor_id=person.id,
            note=format_time(to),
            at=now,
            timetable=services,
        )
    ).event
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
    return text


async def escalate(
    services: Services,
    session: AsyncSession,
    ticket: Ticket,
    *,
    actor_id: int | None,
    role: Role,
    reason: str,
    now: datetime,
) -> Department | None:
    """提级: hand the ticket to the department above its holder; None when it is at the top."""
    parent = services.directory.parent(ticket.department)
    if parent is None:
        if role == Role.SYSTEM:
            return None
        raise InvalidInput(texts.NO_PARENT.format(name=_holder_name(ticket)))
    source = _holder_name(ticket)
    gate.authorise(ticket, Action.ESCALATE, frozenset({role}))  # refuse before any change
    _hand_over(ticket, parent)
    ticket.escalations += 1
    event = (
        await gate.move(
            session,
            ticket,
            Action.ESCALATE,
            roles=role,
            actor_id=actor_id,
            note=f"{parent.name}：{reason}",
            at=now,
            timetable=services,
        )
    ).event
    chats = await routing.holder_chats(session, ticket)
    await tell_chats(
        session,
        ticket,
        chats,
        f"escalated:{event.id}",
        texts.NOTICE_ESCALATED.format(number=ticket.number, source=source, reason=reason),
    )
    await post_cards(session, ticket, tag=f"escalate{event.id}", chats=chats)
    return parent


async def answer_in_chat(
    session: AsyncSession, ticket: Ticket, chat_id: int, message_id: int, outcome: Outcome
) -> None:
    """Reply to the staff member's answer with what happened."""
    await reply(
        session, chat_id=chat_id, message_id=message_id, text=outcome.text, ticket_id=ticket.id
    )
