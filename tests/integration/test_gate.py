"""The one gate against the transition table: every action × every status × every role, and
random walks through the table, on a real database."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.deadlines import DeadlinePolicy
from bot.domain import (
    OPEN_STATUSES,
    TIMINGS,
    Action,
    EventKind,
    IllegalTransition,
    NotAllowed,
    Role,
    Status,
    Timing,
    transition_for,
)
from bot.services import gate
from bot.workdays import WorkCalendar
from storage.db import make_engine, make_sessionmaker
from storage.models import Ticket, TicketEvent, User

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
REPORTER = 3001
ASKED = NOW + timedelta(days=10)  # the date a 延期 asks for
_numbers = itertools.count(1)


@dataclass(frozen=True)
class Rules:
    """The deadline policy and calendar the product loads, for the gate's rescheduling."""

    policy: DeadlinePolicy
    calendar: WorkCalendar


RULES = Rules(DeadlinePolicy.load(), WorkCalendar.load())


@pytest.fixture
async def sessions(sqlite_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(sqlite_url)
    maker = make_sessionmaker(engine)
    async with maker.begin() as s:
        s.add(User(id=REPORTER, first_name="张阿姨"))
    yield maker
    await engine.dispose()


async def _ticket(session: AsyncSession, status: Status) -> Ticket:
    """A ticket placed at `status` directly (tests may; the product goes through the gate)."""
    n = next(_numbers)
    ticket = Ticket(
        number=f"20261123-{n:04d}",
        reporter_id=REPORTER,
        source_chat_id=REPORTER,
        source_message_id=n,
        text="楼道灯坏了",
        category="市容环境",
        intent="求助",
        urgency="一般",
        status=status.value,
        accept_by=NOW + timedelta(hours=2),
        deadline_at=NOW + timedelta(days=3),
        remind_at=NOW + timedelta(days=2),
        escalate_at=NOW + timedelta(days=4),
        base_deadline_at=NOW + timedelta(days=3),
        extension_to=ASKED if status == Status.EXTENDING else None,
        created_at=NOW,
        updated_at=NOW,
    )
    session.add(ticket)
    await session.flush()
    return ticket


async def _events(session: AsyncSession, ticket: Ticket) -> list[TicketEvent]:
    rows = await session.execute(
        select(TicketEvent).where(TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.id)
    )
    return list(rows.scalars())


async def test_every_action_in_every_status_by_every_role(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    moved = refused = 0
    async with sessions() as session:
        for status, action, role in itertools.product(Status, Action, Role):
            ticket = await _ticket(session, status)
            row = transition_for(status, action)
            if row is None or role not in row.roles:
                expected = IllegalTransition if row is None else NotAllowed
                with pytest.raises(expected):
                    await gate.move(
                        session,
                        ticket,
                        action,
                        roles=role,
                        actor_id=1,
                        note=None,
                        at=NOW,
                        timetable=RULES,
                        until=ASKED,
                    )
                assert ticket.status == status, (status, action, role)
                assert ticket.deadline_at == NOW + timedelta(days=3)  # nothing rescheduled
                assert await _events(session, ticket) == []
                refused += 1
                continue
            before = (ticket.accept_by, ticket.deadline_at, ticket.escalate_at)
            step = await gate.move(
                session,
                ticket,
                action,
                roles=role,
                actor_id=1,
                note="n",
                at=NOW,
                timetable=RULES,
                until=ASKED,
            )
            _check_timing(ticket, action, before)
            assert ticket.status == row.target == step.transition.target, (status, action, role)
            assert step.role == role
            (event,) = await _events(session, ticket)
            assert (event.action, event.role, event.from_status, event.to_status) == (
                EventKind.of(action),
                role,
                status,
                row.target,
            )
            # The sweeper's next look follows the new status: nothing is due on a closed one.
            assert (ticket.next_due_at is None) == (
                row.target not in OPEN_STATUSES and row.target != Status.RESOLVED
            )
            moved += 1
        await session.rollback()
    assert moved > 30 and refused > 500  # the table is neither empty nor everything


def _check_timing(
    ticket: Ticket, action: Action, before: tuple[datetime, datetime, datetime | None]
) -> None:
    """The deadlines after a move are what the action's timing says, and only that."""
    accept_by, deadline, _ = before
    timing = TIMINGS[action]
    rule = RULES.policy.rule(ticket.intent, ticket.urgency)
    if timing == Timing.NEW_HOLDER:
        assert ticket.accept_by == rule.accept_within.after(NOW, RULES.calendar), action
        assert ticket.deadline_at == deadline, action
    elif timing == Timing.ASK_EXTENSION:
        assert ticket.extension_to == ASKED and ticket.deadline_at == deadline, action
    elif timing == Timing.EXTEND:
        assert ticket.deadline_at == ASKED and ticket.accept_by == accept_by, action
        assert ticket.overdue_at is None and ticket.supervision == 0, action
    elif timing == Timing.RATING:
        assert ticket.resolved_at == NOW, action
        assert ticket.escalate_at == RULES.policy.rating_autoclose_at(NOW), action
    elif timing == Timing.REOPEN:
        reopen_by = RULES.policy.reopen_deadline(NOW, RULES.calendar)
        assert ticket.deadline_at == ticket.base_deadline_at == reopen_by, action
    else:
        assert (ticket.accept_by, ticket.deadline_at, ticket.escalate_at) == before, action
    if ticket.status != Status.EXTENDING:
        assert ticket.extension_to is None, action


@pytest.mark.parametrize("routed", [True, False])
def test_a_new_ticket_gets_its_first_status_and_deadlines_from_the_gate(routed: bool) -> None:
    ticket = Ticket(intent="投诉", urgency="紧急", supervision=0)
    gate.open_as(ticket, routed=routed, at=NOW, timetable=RULES)
    assert ticket.status == (Status.NEW if routed else Status.DISPATCHING)
    times = RULES.policy.deadlines(NOW, "投诉", "紧急", RULES.calendar)
    assert (ticket.accept_by, ticket.deadline_at, ticket.base_deadline_at) == (
        times.accept_by,
        times.resolve_by,
        times.resolve_by,
    )
    assert (ticket.remind_at, ticket.escalate_at) == (times.remind_at, times.escalate_at)


def test_every_action_has_a_timing() -> None:
    assert set(TIMINGS) == set(Action)
    # Every timing is used: by an action, or (FIRST) by the gate filing a new ticket.
    assert {TIMINGS[a] for a in Action} | {Timing.FIRST} == set(Timing)


async def test_a_move_that_needs_a_date_refuses_without_one(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        ticket = await _ticket(session, Status.ACCEPTED)
        with pytest.raises(ValueError):
            await gate.move(
                session,
                ticket,
                Action.REQUEST_EXTENSION,
                roles=Role.STAFF,
                actor_id=1,
                note=None,
                at=NOW,
                timetable=RULES,
            )
        assert ticket.status == Status.ACCEPTED and ticket.extension_to is None
        assert await _events(session, ticket) == []


_steps = st.lists(
    st.tuples(st.sampled_from(list(Action)), st.frozensets(st.sampled_from(list(Role)))),
    max_size=12,
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(start=st.sampled_from(list(Status)), steps=_steps)
async def test_random_walks_follow_the_table_and_leave_a_chained_audit_trail(
    sessions: async_sessionmaker[AsyncSession],
    start: Status,
    steps: list[tuple[Action, frozenset[Role]]],
) -> None:
    async with sessions.begin() as session:
        ticket = await _ticket(session, start)
        expected = start
        taken = 0
        for action, roles in steps:
            row = transition_for(expected, action)
            legal = row is not None and bool(row.roles & roles)
            try:
                await gate.move(
                    session,
                    ticket,
                    action,
                    roles=roles,
                    actor_id=None,
                    note=None,
                    at=NOW,
                    timetable=RULES,
                    until=ASKED,
                )
            except (IllegalTransition, NotAllowed):
                assert not legal, (expected, action, roles)
            else:
                assert legal and row is not None, (expected, action, roles)
                expected = row.target
                taken += 1
            assert ticket.status == expected
        events = await _events(session, ticket)
        assert len(events) == taken
        chain = [start.value, *(e.to_status for e in events)]
        assert [e.from_status for e in events] == chain[:-1]
        assert chain[-1] == ticket.status


async def test_note_keeps_the_status_and_refuses_actions(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        ticket = await _ticket(session, Status.ACCEPTED)
        event = await gate.note(
            session, ticket, EventKind.MERGE, role=Role.REPORTER, actor_id=1, note="又一位", at=NOW
        )
        assert (event.from_status, event.to_status) == (Status.ACCEPTED, Status.ACCEPTED)
        with pytest.raises(ValueError):
            await gate.note(
                session, ticket, EventKind.RESOLVE, role=Role.STAFF, actor_id=1, note="", at=NOW
            )
        count = await session.execute(select(func.count()).select_from(TicketEvent))
        assert count.scalar_one() == 1 and ticket.status == Status.ACCEPTED


def test_every_action_has_an_event_kind() -> None:
    assert {EventKind.of(a).value for a in Action} == {a.value for a in Action}
