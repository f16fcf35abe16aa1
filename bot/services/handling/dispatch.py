"""Who holds a ticket: 派单, 转派, 退单, 协办 and 提级.

Each is asked for with a card button and answered with a reply in the chat (the department,
the reason); `actions` checks the state machine with the person's roles and runs it as one
transaction: the ticket, its audit row, the notices and the new holder's card.
"""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot import texts
from bot.departments import Department
from bot.domain import Action, InvalidInput, Role
from bot.services import gate
from bot.services.context import Services
from bot.services.handling import routing
from bot.services.handling.routing import holder_name
from bot.services.handling.work import Outcome, Work
from bot.services.notices.cards import announce, post_cards
from storage.models import Ticket, TicketAssist
from storage.outbox import insert_ignore

_SPLIT_RE = re.compile(r"[\s、，,；;]+")


def assign_question(services: Services, ticket: Ticket) -> str:
    """What the 派单 prompt asks: the department."""
    return texts.ASK_ASSIGN.format(number=ticket.number)


def transfer_question(services: Services, ticket: Ticket) -> str:
    """What the 转派 prompt asks: the department, then the reason."""
    return texts.ASK_TRANSFER.format(number=ticket.number)


def send_back_question(services: Services, ticket: Ticket) -> str:
    """What the 退单 prompt asks: the reason."""
    return texts.ASK_SEND_BACK.format(number=ticket.number)


def assist_question(services: Services, ticket: Ticket) -> str:
    """What the 协办 prompt asks: the cooperating departments."""
    return texts.ASK_ASSIST.format(number=ticket.number)


def escalate_question(services: Services, ticket: Ticket) -> str:
    """What the 提级 prompt asks; raise InvalidInput when no department is above the holder."""
    parent = services.directory.parent(ticket.department)
    if parent is None:
        raise InvalidInput(texts.NO_PARENT.format(name=holder_name(ticket)))
    return texts.ASK_ESCALATE.format(number=ticket.number, parent=parent.name)


def _find(services: Services, name: str) -> Department:
    department = services.directory.find(name)
    if department is None:
        raise InvalidInput(texts.UNKNOWN_DEPARTMENT.format(name=name[:40]))
    return department


def _hand_over(ticket: Ticket, department: Department | None) -> None:
    ticket.department = department.code if department else None
    ticket.department_name = department.name if department else None


async def assign(work: Work) -> Outcome:
    """派单: the note names the department."""
    return await _move(work, Action.ASSIGN)


async def transfer(work: Work) -> Outcome:
    """转派: the note names the department, then the reason."""
    return await _move(work, Action.TRANSFER)


async def _move(work: Work, action: Action) -> Outcome:
    services, session, ticket, body = work.services, work.session, work.ticket, work.note
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
    source = holder_name(ticket)
    _hand_over(ticket, department)
    event = await work.move(
        action, department.name + (f"：{reason.strip()}" if reason.strip() else "")
    )
    chats = await routing.holder_chats(session, ticket)
    tag = f"{action.value}{event.id}"
    if action == Action.TRANSFER:
        text = texts.NOTICE_TRANSFERRED.format(
            number=ticket.number, source=source, reason=reason.strip()
        )
        await announce(session, ticket, chats, key=f"transferred:{event.id}", text=text, tag=tag)
    else:
        await post_cards(session, ticket, tag=tag, chats=chats)
    done = texts.STAFF_DONE_ASSIGN if action == Action.ASSIGN else texts.STAFF_DONE_TRANSFER
    return Outcome(done.format(number=ticket.number, name=department.name))


async def send_back(work: Work) -> Outcome:
    """退单: the department gives the ticket back to the dispatch chat, with its reason."""
    session, ticket, reason = work.session, work.ticket, work.note
    source = holder_name(ticket)
    _hand_over(ticket, None)
    event = await work.move(Action.SEND_BACK, reason)
    await announce(
        session,
        ticket,
        await routing.dispatch_chat_ids(session),
        key=f"sent_back:{event.id}",
        text=texts.NOTICE_SENT_BACK.format(number=ticket.number, source=source, reason=reason),
        tag=f"send_back{event.id}",
    )
    return Outcome(texts.STAFF_DONE_SEND_BACK.format(number=ticket.number))


async def assist(work: Work) -> Outcome:
    """协办: add cooperating departments; the lead department keeps the ticket."""
    session, ticket, body = work.session, work.ticket, work.note
    wanted = [_find(work.services, name) for name in _SPLIT_RE.split(body.strip()) if name]
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
                "added_by": work.person.id,
                "created_at": work.now,
            },
            ["ticket_id", "department"],
        )
    names = "、".join(d.name for d in added)
    event = await work.move(Action.ASSIST, names)
    for department in added:
        await announce(
            session,
            ticket,
            await routing.department_chats(session, department.code),
            key=f"assist:{event.id}",
            text=texts.NOTICE_ASSIST.format(lead=holder_name(ticket), number=ticket.number),
            tag=f"assist{event.id}",
        )
    return Outcome(texts.STAFF_DONE_ASSIST.format(names=names, number=ticket.number))


async def escalate_by_staff(work: Work) -> Outcome:
    """提级 by a department: the note is the reason."""
    department = await escalate(
        work.services,
        work.session,
        work.ticket,
        actor_id=work.person.id,
        role=work.role,
        reason=work.note,
        now=work.now,
    )
    assert department is not None
    return Outcome(
        texts.STAFF_DONE_ESCALATE.format(number=work.ticket.number, name=department.name)
    )


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
        raise InvalidInput(texts.NO_PARENT.format(name=holder_name(ticket)))
    source = holder_name(ticket)
    gate.authorise(ticket, Action.ESCALATE, frozenset({role}))  # refuse before any change
    _hand_over(ticket, parent)
    ticket.escalations += 1
    step = await gate.move(
        session,
        ticket,
        Action.ESCALATE,
        roles=role,
        actor_id=actor_id,
        note=f"{parent.name}：{reason}",
        at=now,
        timetable=services,
    )
    await announce(
        session,
        ticket,
        await routing.holder_chats(session, ticket),
        key=f"escalated:{step.event.id}",
        text=texts.NOTICE_ESCALATED.format(number=ticket.number, source=source, reason=reason),
        tag=f"escalate{step.event.id}",
    )
    return parent
