"""Abuse controls hold across instances: two bots sharing Redis share one report limit."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select

from bot.deadlines import DeadlinePolicy
from bot.services.context import Person, Services
from bot.services.intake import reports
from bot.workdays import WorkCalendar
from nlp import Extractor
from storage.coordination.base import Coordinator
from storage.coordination.memory import MemoryCoordinator, MemoryStore
from storage.coordination.redis import RedisCoordinator
from storage.db import make_engine, make_sessionmaker
from storage.models import OutboxMessage, Ticket
from tests.integration.test_coordination import REDIS_URL, _delete_prefix, _require_redis

RESIDENT = Person(9, "张阿姨")
REPORTS = [f"光明路{i}号门口的路灯坏了好几天了" for i in range(1, 5)]


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def two_coordinators(
    request: pytest.FixtureRequest,
) -> AsyncIterator[tuple[Coordinator, Coordinator]]:
    """Two instances' coordinators over one shared backend."""
    if request.param == "memory":
        store = MemoryStore()
        pair: tuple[Coordinator, Coordinator] = (
            MemoryCoordinator(store),
            MemoryCoordinator(store),
        )
        prefix = ""
    else:
        await _require_redis()
        prefix = f"huiyin-test:{uuid.uuid4().hex}:"
        pair = (
            RedisCoordinator(REDIS_URL, prefix=prefix),
            RedisCoordinator(REDIS_URL, prefix=prefix),
        )
    for c in pair:
        await c.start()
    yield pair
    for c in pair:
        await c.close()
    if prefix:
        await _delete_prefix(prefix)


async def test_the_report_limit_is_shared_between_instances(
    sqlite_url: str, extractor: Extractor, two_coordinators: tuple[Coordinator, Coordinator]
) -> None:
    engine = make_engine(sqlite_url)
    sessions = make_sessionmaker(engine)
    calendar, policy = WorkCalendar.load(), DeadlinePolicy.load()
    first, second = (
        Services(sessions, extractor, calendar, policy, coordinator=c, reports_per_hour=2)
        for c in two_coordinators
    )
    outcomes = [
        (await reports.handle_private_text(svc, RESIDENT, 100 + i, text)).kind
        for i, (svc, text) in enumerate(zip((first, second, first, second), REPORTS, strict=True))
    ]
    assert outcomes == ["ticket", "ticket", "limited", "limited"]
    async with sessions() as s:
        assert (await s.execute(select(func.count()).select_from(Ticket))).scalar_one() == 2
        last = (
            (await s.execute(select(OutboxMessage.payload).order_by(OutboxMessage.id.desc())))
            .scalars()
            .first()
        )
    assert last is not None and "太频繁" in last
    await engine.dispose()
