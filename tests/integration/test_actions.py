"""The table of staff actions against the transition table: every action × every status × every
set of roles the database can give a person, through the one executor, on a real database."""

from __future__ import annotations

import itertools
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import texts
from bot.domain import (
    TRANSITIONS,
    Action,
    IllegalTransition,
    NotAllowed,
    Role,
    Status,
    check_any,
)
from bot.services.administration import staff as staff_admin
from bot.services.context import Person, Services
from bot.services.handling import actions, extension
from bot.services.handling.work import Work
from bot.services.notices.cards import CARD_ROWS
from bot.services.tickets import remember_user
from bot.workdays import end_of_day, local_date
from storage.models import Ticket, TicketEvent
from tests.integration.test_sweeper import (  # noqa: F401  (the fixture)
    ADMIN,
    CG_CHAT,
    CLERK,
    DISPATCH_CHAT,
    DISPATCHER,
    GARBAGE,
    RESIDENT,
    services,
)

BOTH = Person(9, "两边都管")
_numbers = itertools.count(1)

# Who presses, by the roles the database gives them on a 区城管委 ticket.
PRESSERS: dict[frozenset[Role], Person] = {
    frozenset(): RESIDENT,
    frozenset({Role.STAFF}): CLERK,
    frozenset({Role.DISPATCHER}): DISPATCHER,
    frozenset({Role.STAFF, Role.DISPATCHER}): BOTH,
}


def _note(svc: Services, ticket: Ticket, action: Action) -> str:
    """What a member of staff would write for this action (a valid answer)."""
    if action == Action.REQUEST_EXTENSION:
        cap = extension.latest(svc, ticket)
        day = local_date(ticket.deadline_at) + timedelta(days=1)
        while end_of_day(day) <= cap:
            if svc.calendar.is_workday(day):
                return f"{day:%Y-%m-%d} 材料还没到"
            day += timedelta(days=1)
        return "no day"
    return {
        Action.RESOLVE: "已修好",
        Action.RETURN: "不属于受理范围",
        Action.ASSIGN: "区人社局",
        Action.TRANSFER: "区人社局 不归我们管",
        Action.SEND_BACK: "不归我们管",
        Action.ASSIST: "区人社局",
        Action.ESCALATE: "拖了太久",
        Action.RECATEGORIZE: "城乡建设",
    }.get(action, "")


async def _ticket(svc: Services, session: AsyncSession, status: Status) -> Ticket:
    """A 区城管委 ticket placed at `status` directly (tests may; the product goes through the
    gate)."""
    now = svc.clock()
    held = svc.directory.find("区城管委")
    assert held is not None
    await remember_user(session, RESIDENT, started=now)
    n = next(_numbers)
    ticket = Ticket(
        number=f"20260901-{n:04d}",
        reporter_id=RESIDENT.id,
        source_chat_id=RESIDENT.id,
        source_message_id=n,
        text="垃圾好几天没人清运",
        category="/".join(GARBAGE),
        intent="投诉",
        urgency="一般",
        status=status.value,
        department=held.code,
        department_name=held.name,
        accept_by=now + timedelta(hours=2),
        deadline_at=now + timedelta(days=3),
        remind_at=now + timedelta(days=2),
        escalate_at=now + timedelta(days=4),
        base_deadline_at=now + timedelta(days=3),
        extension_to=now + timedelta(days=5) if status == Status.EXTENDING else None,
        created_at=now,
        updated_at=now,
    )
    session.add(ticket)
    await session.flush()
    return ticket


async def _events(session: AsyncSession, ticket: Ticket) -> int:
    return (
        await session.execute(
            select(func.count()).select_from(TicketEvent).where(TicketEvent.ticket_id == ticket.id)
        )
    ).scalar_one()


async def test_every_staff_action_in_every_status_by_every_role(
    services: Services,  # noqa: F811
) -> None:
    await staff_admin.add_staff(services, ADMIN, BOTH, DISPATCH_CHAT, 10)
    await staff_admin.add_staff(services, ADMIN, BOTH, CG_CHAT, 11)
    allowed = refused = 0
    for row, status, (roles, presser) in itertools.product(
        actions.TABLE, Status, PRESSERS.items()
    ):
        async with services.sessions() as session:
            ticket = await _ticket(services, session, status)
            name = texts.ACTION_NAMES[row.action]
            refusals = {
                texts.ALERT_ILLEGAL.format(
                    number=ticket.number, status=texts.STATUS_NAMES[status], action=name
                ),
                texts.ALERT_NOT_YOUR_DEPARTMENT.format(number=ticket.number, action=name),
            }
            work = Work(
                services,
                session,
                presser,
                ticket,
                Role.STAFF,
                services.clock(),
                _note(services, ticket, row.action),
                chat_id=CG_CHAT,
                message_id=1,
            )
            outcome = await actions.attempt(row, work)
            case = f"{row.action} on {status} by {sorted(roles)}: {outcome.text}"
            try:
                transition = check_any(status, row.action, roles)[0]
            except (IllegalTransition, NotAllowed):
                refused += 1
                assert not outcome.done and outcome.text in refusals, case
                assert ticket.status == status and await _events(session, ticket) == 0, case
            else:
                allowed += 1
                assert outcome.text not in refusals, case
                if row.action != Action.RECATEGORIZE:  # its target is the category's route
                    assert outcome.done and ticket.status == transition.target, case
            await session.rollback()
    assert allowed and refused


def test_every_staff_transition_has_a_row() -> None:
    """Each action staff or a dispatcher may take has a row (改派 follows from 改分类)."""
    staff_actions = {
        t.action for t in TRANSITIONS if t.roles & {Role.STAFF, Role.DISPATCHER}
    } - {Action.REROUTE, Action.REROUTE_DISPATCH}
    assert staff_actions == set(actions.BY_ACTION)
    assert {a for row in CARD_ROWS for a in row} <= set(actions.BY_ACTION)
    assert len(actions.BY_PROMPT) == sum(1 for row in actions.TABLE if row.prompt)
    for row in actions.TABLE:
        assert row.roles, row.action
