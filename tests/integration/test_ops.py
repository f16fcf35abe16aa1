"""/healthz, /readyz and /metrics against a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from aiohttp import ClientSession, web
from aiohttp.test_utils import TestServer

from bot.deadlines import DeadlinePolicy
from bot.intents import Notice
from bot.metrics import COUNTERS
from bot.services.context import Services
from bot.web.ops import add_ops
from bot.workdays import WorkCalendar
from nlp import Extractor
from storage.db import make_engine, make_sessionmaker
from storage.models import utcnow
from storage.outbox import enqueue


@pytest.fixture
async def server(database_url: str, extractor: Extractor) -> AsyncIterator[tuple[Services, str]]:
    engine = make_engine(database_url)
    services = Services(
        sessions=make_sessionmaker(engine),
        extractor=extractor,
        calendar=WorkCalendar.load(),
        policy=DeadlinePolicy.load(),
    )
    app = web.Application()
    add_ops(app, services)
    test_server = TestServer(app)
    await test_server.start_server()
    yield services, str(test_server.make_url("")).rstrip("/")
    await test_server.close()
    await engine.dispose()


async def test_ready_until_the_outbox_is_stuck(server: tuple[Services, str]) -> None:
    services, base = server
    async with ClientSession() as http:
        assert await (await http.get(f"{base}/healthz")).text() == "ok"
        ready = await http.get(f"{base}/readyz")
        body = json.loads(await ready.text())
        assert ready.status == 200 and body["database"] == "ok"
        assert body["redis"] == "in-process" and body["outbox_oldest_waiting_seconds"] == 0
        async with services.sessions.begin() as session:
            await enqueue(session, key="stuck", chat_id=1, intent=Notice("hi"))
        services.clock = lambda: utcnow() + timedelta(minutes=11)
        stuck = await http.get(f"{base}/readyz")
        body = json.loads(await stuck.text())
        assert stuck.status == 503 and body["outbox_oldest_waiting_seconds"] > 600
        assert body["ready"] is False


async def test_metrics_in_prometheus_text(server: tuple[Services, str]) -> None:
    services, base = server
    async with services.sessions.begin() as session:
        await enqueue(session, key="waiting", chat_id=1, intent=Notice("hi"))
    before = COUNTERS.counts["telegram_429"]
    COUNTERS.inc("telegram_429")
    async with ClientSession() as http:
        answer = await http.get(f"{base}/metrics")
        text = await answer.text()
    assert answer.status == 200 and answer.content_type == "text/plain"
    assert 'huiyin_outbox_messages{status="pending"} 1' in text
    assert f"huiyin_telegram_429_total {before + 1}" in text
    for name in (
        "huiyin_updates_total",
        "huiyin_handler_errors_total",
        "huiyin_sweeper_lag_seconds",
    ):
        assert f"# TYPE {name}" in text
