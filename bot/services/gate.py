"""The one gate every change of a ticket's status goes through, and the audit trail it writes.

`move` checks the state machine (`bot.domain.TRANSITIONS`) with the actor's roles, sets the
status the table names, writes the typed audit row, reschedules the deadlines as the action's
`Timing` says (`bot.domain.TIMINGS`) and the sweeper's next look, and refreshes the cards.
`note` records an event that keeps the status; `open_as` gives a new ticket its first status
and deadlines (`Timing.FIRST`), `file` its first audit row. Nothing else writes
`Ticket.status` or a deadline (tests over the source fail the build otherwise).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from bot import texts
from bot.deadlines import DeadlinePolicy
from bot.domain import (
    TIMINGS,
    Action,
    EventKind,
    IllegalTransition,
    NotAllowed,
    Role,
    Status,
    Timing,
    Transition,
    check_any,
)
from bot.services.notices.cards import refresh_cards
from bot.services.supervision import supervision
from bot.workdays import WorkCalendar
from storage.models import Ticket, TicketEvent

_ACTION_KINDS = frozenset(EventKind.of(a) for a in Action)


class Timetable(Protocol):
    """What rescheduling needs: the deadline policy and the working-day calendar."""

    @property
    def policy(self) -> DeadlinePolicy:
        """The deadline rules."""
        ...

    @property
    def calendar(self) -> WorkCalendar:
        """The working days."""
        ...


@dataclass(frozen=True, slots=True)
class Step:
    """What the gate did: the table's row it followed, the role it acted as, the audit row."""

    transition: Transition
    role: Role
    event: TicketEvent


def authorise(ticket: Ticket, action: Action, roles: frozenset[Role]) -> tuple[Transition, Role]:
    """Return the transition and role, or raise with a message fit for staff."""
    status = Status(ticket.status)
    try:
        return check_any(status, action, roles)
    except IllegalTransition:
        raise IllegalTransition(
            status,
            action,
            texts.ALERT_ILLEGAL.format(
                number=ticket.number,
                status=texts.STATUS_NAMES[status],
                action=texts.ACTION_NAMES[action],
            ),
        ) from None
    except NotAllowed:
        raise NotAllowed(
            texts.ALERT_NOT_YOUR_DEPARTMENT.format(
                number=ticket.number, action=texts.ACTION_NAMES[action]
            )
        ) from None


async def move(
    session: AsyncSession,
    ticket: Ticket,
    action: Action,
    *,
    roles: Role | frozenset[Role],
    actor_id: int | None,
    note: str | None,
    at: datetime,
    timetable: Timetable,
    until: datetime | None = None,
) -> Step:
    """Take `action` on the ticket as one of `roles`, or raise IllegalTransition/NotAllowed
    (nothing changed); on success the status is the table's target, the deadlines follow the
    action's timing (`until`: the date a 延期 asks for) and the cards show it."""
    allowed = frozenset({roles}) if isinstance(roles, Role) else roles
    transition, role = authorise(ticket, action, allowed)
    timing = TIMINGS[action]
    if timing == Timing.ASK_EXTENSION and until is None:
        raise ValueError(f"{action} needs the date asked for")
    if timing == Timing.EXTEND and ticket.extension_to is None:
        raise ValueError(f"{action} on ticket {ticket.number}: no date was asked for")
    _reschedule(ticket, timing, transition.target, timetable, at, until)
    event = await _write(
        session, ticket, EventKind.of(action), role, actor_id, note, at, transition.target
    )
    await refresh_cards(session, ticket, event.id)
    return Step(transition, role, event)


def _reschedule(
    ticket: Ticket,
    timing: Timing,
    target: Status,
    timetable: Timetable,
    at: datetime,
    until: datetime | None,
) -> None:
    policy, calendar = timetable.policy, timetable.calendar
    if timing == Timing.FIRST:
        supervision.first(ticket, policy, calendar, at)
    elif timing == Timing.NEW_HOLDER:
        supervision.restart_acceptance(ticket, policy, calendar, at)
    elif timing == Timing.ASK_EXTENSION:
        ticket.extension_to = until
    elif timing == Timing.EXTEND:
        assert ticket.extension_to is not None
        accepted_by = ticket.accept_by  # it was accepted already: the 签收 time stands
        supervision.plan(ticket, policy, calendar, start=at, resolve_by=ticket.extension_to)
        ticket.accept_by = accepted_by
    elif timing == Timing.RATING:
        supervision.start_rating_period(ticket, policy, at)
    elif timing == Timing.REOPEN:
        reopen_by = policy.reopen_deadline(at, calendar)
        supervision.plan(ticket, policy, calendar, start=at, resolve_by=reopen_by)
        ticket.base_deadline_at = ticket.deadline_at
    if target != Status.EXTENDING:
        ticket.extension_to = None  # a request is pending only while the ticket waits on it


async def note(
    session: AsyncSession,
    ticket: Ticket,
    kind: EventKind,
    *,
    role: Role,
    actor_id: int | None,
    note: str | None,
    at: datetime,
    refresh: bool = True,
) -> TicketEvent:
    """Record an event that keeps the status (a merge, evidence, a reminder); `refresh` edits
    the cards to show what the event changed."""
    if kind in _ACTION_KINDS:
        raise ValueError(f"{kind} is an action: it goes through move()")
    event = await _write(session, ticket, kind, role, actor_id, note, at, Status(ticket.status))
    if refresh:
        await refresh_cards(session, ticket, event.id)
    return event


def first_status(*, routed: bool) -> Status:
    """The status a new ticket starts in: with a department, or waiting for 派单."""
    return Status.NEW if routed else Status.DISPATCHING


def open_as(ticket: Ticket, *, routed: bool, at: datetime, timetable: Timetable) -> None:
    """Give a ticket not yet stored its first status and first deadlines (before the insert
    that numbers it)."""
    ticket.status = first_status(routed=routed)
    _reschedule(ticket, Timing.FIRST, ticket.status, timetable, at, None)


async def file(
    session: AsyncSession, ticket: Ticket, *, actor_id: int, note: str | None, at: datetime
) -> TicketEvent:
    """Write the audit row of a ticket just filed (its status set by `open_as`)."""
    event = TicketEvent(
        ticket_id=ticket.id,
        actor_id=actor_id,
        role=Role.REPORTER,
        action=EventKind.REPORT,
        from_status=None,
        to_status=Status(ticket.status),
        note=note,
        created_at=at,
    )
    supervision.schedule(ticket)
    session.add(event)
    await session.flush()
    return event


async def _write(
    session: AsyncSession,
    ticket: Ticket,
    kind: EventKind,
    role: Role,
    actor_id: int | None,
    note: str | None,
    at: datetime,
    target: Status,
) -> TicketEvent:
    event = TicketEvent(
        ticket_id=ticket.id,
        actor_id=actor_id,
        role=role,
        action=kind,
        from_status=Status(ticket.status),
        to_status=target,
        note=note,
        created_at=at,
    )
    ticket.status = target
    ticket.updated_at = at
    supervision.schedule(ticket)
    session.add(event)
    await session.flush()
    return event
