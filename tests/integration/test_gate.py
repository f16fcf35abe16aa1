"""The one gate against the transition table: every action × every status × every role, and
random walks through the table, on a real database."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain import (
    OPEN_STATUSES,
    Action,
    EventKind,
    IllegalTransition,
    NotAllowed,
    Role,
    Status,
    transition_for,
)
from bot.services import gate
from storage.db import make_engine, make_sessionmaker
from storage.models import Ticket, TicketEvent, User

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
REPORTER = 3001
_numbers = itertools.count(1)


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
                        session, ticket, action, roles=role, actor_id=1, note=None, at=NOW
                    )
                assert ticket.status == status, (status, action, role)
                assert await _events(session, ticket) == []
                refused += 1
                continue
            step = await gate.move(
                session, ticket, action, roles=role, actor_id=1, note="n", at=NOW
            )
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
                    session, ticket, action, roles=roles, actor_id=None, note=None, at=NOW
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
