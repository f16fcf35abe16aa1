"""Several instances, one truth: a poller and a second instance that only handles stored
updates share PostgreSQL; every update is handled once and each chat keeps its order."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.app import Runtime, build_runtime, start_runtime, stop_runtime
from bot.config import load_settings
from nlp import Extractor
from tests.harness import LocalStack, expect

REPORTS = [
    "幸福小区{n}栋楼道的灯坏了一个星期了，晚上漆黑一片",
    "阳光花园{n}号楼下水道堵了好几天，污水漫到路面上",
    "和平里社区{n}单元电梯又坏了，住在高层的老人下不了楼",
]


@pytest.fixture
async def second(stack_pg: LocalStack, extractor: Extractor) -> AsyncIterator[Runtime]:
    """Another instance on the same database: no polling, it handles what the first stored."""
    assert stack_pg.database_url is not None
    settings = load_settings(
        HUIYIN_TELEGRAM_API_URL=stack_pg.sim.root_url,
        HUIYIN_DATABASE_URL=stack_pg.database_url,
        HUIYIN_ADMIN_IDS="1001",
    )
    runtime = await build_runtime(settings, token=stack_pg.sim.token, extractor=extractor)
    await start_runtime(runtime, polling=False)
    yield runtime
    await stop_runtime(runtime)


@pytest.fixture
async def stack_pg(database_url: str, extractor: Extractor) -> AsyncIterator[LocalStack]:
    """The polling instance, on PostgreSQL."""
    async with LocalStack(database_url=database_url, extractor=extractor, migrate=False) as s:
        await s.setup_staff()
        yield s


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_two_instances_handle_each_update_once_and_each_chat_in_order(
    stack_pg: LocalStack, second: Runtime
) -> None:
    sim = stack_pg.sim
    first = stack_pg.runtime
    assert first is not None
    first.worker.concurrency = 2  # leave work for the second instance
    residents = list(range(81_000, 81_040))
    for uid in residents:
        sim.add_user(uid, f"居民{uid}")
    before = first.worker.handled + second.worker.handled
    for i, uid in enumerate(residents):
        sim.send_text(uid, REPORTS[i % len(REPORTS)].format(n=i + 1))
        sim.send_text(uid, "/my")  # answered only after the report: order within the chat
    for uid in residents:
        listing = await expect(sim, uid, lambda m: "您最近的工单" in m["text"], timeout=60)
        ack = next(m for m in sim.bot_messages(uid) if "工单编号：" in m["text"])
        number = str(ack["text"]).split("工单编号：", 1)[1].split()[0]
        assert number in listing["text"]
        assert sum("工单编号：" in m["text"] for m in sim.bot_messages(uid)) == 1
    handled = first.worker.handled + second.worker.handled - before
    assert handled == 2 * len(residents)
    assert first.worker.handled > 0 and second.worker.handled > 0
