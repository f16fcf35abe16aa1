"""Console sign-in with a frozen clock: links expire and work once, sessions expire, and who
sees what follows the staff tables at once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete

from bot.deadlines import DeadlinePolicy
from bot.services.administration import staff
from bot.services.context import Person, Services
from bot.services.statistics import access
from bot.workdays import WorkCalendar
from nlp import Extractor
from storage.db import make_engine, make_sessionmaker
from storage.models import DepartmentMember

ADMIN, DISPATCHER, STREET, STRANGER = Person(1), Person(2, "调度"), Person(3, "街道"), Person(9)
START = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def services(database_url: str, extractor: Extractor) -> AsyncIterator[Services]:
    engine = make_engine(database_url)
    svc = Services(
        sessions=make_sessionmaker(engine),
        extractor=extractor,
        calendar=WorkCalendar.load(),
        policy=DeadlinePolicy.load(),
        admin_ids=frozenset({ADMIN.id}),
        clock=Clock(),
        console_url="https://console.example.org",
    )
    await staff.bind_staff_chat(svc, ADMIN, -100, "总平台", 1)
    await staff.add_staff(svc, ADMIN, DISPATCHER, -100, 2)
    await staff.bind_staff_chat(svc, ADMIN, -200, "朝阳街道", 3, "朝阳街道办事处")
    await staff.add_staff(svc, ADMIN, STREET, -200, 4)
    yield svc
    await engine.dispose()


async def token_for(svc: Services, person: Person) -> str | None:
    async with svc.sessions.begin() as session:
        return await access.issue_link(svc, session, person.id)


def clock(svc: Services) -> Clock:
    assert isinstance(svc.clock, Clock)
    return svc.clock


async def test_scope_follows_the_department_tree(services: Services) -> None:
    async with services.sessions() as session:
        street = await access.scope_of(services, session, STREET.id)
        dispatch = await access.scope_of(services, session, DISPATCHER.id)
        admin = await access.scope_of(services, session, ADMIN.id)
        nobody = await access.scope_of(services, session, STRANGER.id)
    assert street.departments == {"street_chaoyang", "community_xingfu", "community_heping"}
    assert street.sees("community_xingfu") and not street.sees("district_cg")
    assert not street.sees(None)  # the dispatch chat's own queue is not a street's
    assert dispatch.everything and admin.everything and nobody.empty
    assert await token_for(services, STRANGER) is None


async def test_a_link_works_once_and_only_while_fresh(services: Services) -> None:
    token = await token_for(services, STREET)
    assert token is not None
    clock(services).now = START + access.LINK_TTL - timedelta(seconds=1)
    session_id = await access.redeem_link(services, token)
    assert session_id is not None
    assert await access.redeem_link(services, token) is None  # used
    late = await token_for(services, STREET)
    assert late is not None
    clock(services).now += access.LINK_TTL
    assert await access.redeem_link(services, late) is None  # expired
    assert await access.redeem_link(services, "made-up") is None


async def test_sessions_expire_and_end_when_staff_are_removed(services: Services) -> None:
    token = await token_for(services, STREET)
    assert token is not None
    session_id = await access.redeem_link(services, token)
    assert session_id is not None
    clock(services).now = START + access.SESSION_TTL - timedelta(seconds=1)
    assert await access.session_scope(services, session_id) is not None
    clock(services).now = START + access.SESSION_TTL
    assert await access.session_scope(services, session_id) is None

    clock(services).now = START
    token = await token_for(services, STREET)
    assert token is not None
    session_id = await access.redeem_link(services, token)
    assert session_id is not None
    async with services.sessions.begin() as session:
        await session.execute(
            delete(DepartmentMember).where(DepartmentMember.user_id == STREET.id)
        )
    assert await access.session_scope(services, session_id) is None  # at once
    await access.end_session(services, session_id)
