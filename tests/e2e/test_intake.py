"""The intake end to end: failures retried then dead-lettered with an apology, operators
retry them; the webhook stores before it answers; chatter is decided and never stored."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from bot.cli import main
from bot.intake.poller import Intake
from bot.services.intake import reports
from bot.texts import INBOX_APOLOGY
from bot.webhook import SECRET_HEADER, webhook_app
from storage.db import make_engine, make_sessionmaker
from storage.models import InboxUpdate, Ticket
from tests.harness import ADMIN_ID, RESIDENT_ID, LocalStack, expect

REPORT = "幸福小区3栋楼道的灯坏了一个星期了，晚上上下楼很危险"
GRID = -1003000000077


async def test_a_failing_update_is_retried_dead_lettered_apologised_for_and_retried_by_hand(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert stack.runtime is not None and stack.database_url is not None
    worker = stack.runtime.worker
    worker.max_attempts, worker.backoff_seconds = 3, 0.05
    real = reports.handle_private_text
    calls: list[str] = []

    async def broken(*args: Any, **kwargs: Any) -> Any:
        calls.append("x")
        raise RuntimeError("the report service is broken")

    monkeypatch.setattr(reports, "handle_private_text", broken)
    sim = stack.sim
    sim.add_user(RESIDENT_ID, "张阿姨")
    sim.send_text(RESIDENT_ID, REPORT)
    await expect(sim, RESIDENT_ID, lambda m: m["text"] == INBOX_APOLOGY)
    assert len(calls) == 3

    monkeypatch.setenv("HUIYIN_DATABASE_URL", stack.database_url)
    assert await asyncio.to_thread(main, ["inbox", "failed"]) == 0
    listed = capsys.readouterr().out
    assert "RuntimeError: the report service is broken" in listed and "3 次" in listed

    monkeypatch.setattr(reports, "handle_private_text", real)
    assert await asyncio.to_thread(main, ["inbox", "retry", "--all"]) == 0
    assert "已重新排队 1 条" in capsys.readouterr().out
    worker.wake()
    await expect(sim, RESIDENT_ID, lambda m: "工单编号：" in m["text"])
    assert await asyncio.to_thread(main, ["inbox", "failed"]) == 0
    assert "没有处理失败的消息" in capsys.readouterr().out


async def test_grid_chatter_is_decided_in_memory_and_never_stored(stack: LocalStack) -> None:
    sim = stack.sim
    sim.add_user(ADMIN_ID, "王主任")
    sim.add_user(3001, "李大爷")
    sim.add_group(GRID, "幸福社区网格群")
    sim.send_text(ADMIN_ID, "/bind_grid 幸福社区", chat_id=GRID)
    await expect(sim, GRID, lambda m: "网格群" in m["text"])
    assert stack.runtime is not None
    intake, worker = stack.runtime.intake, stack.runtime.worker
    before, chatter_before = worker.handled, intake.chatter_count
    chat = sim.send_text(3001, "今天天气真好，大家吃了吗", chat_id=GRID)
    sim.send_text(3001, "/my")
    await expect(sim, 3001, lambda m: "工单" in m["text"])
    update = next(
        u
        for u in sim.delivered
        if u.get("message", {}).get("message_id") == chat["message_id"]
        and u["message"]["chat"]["id"] == GRID
    )
    async with stack.runtime.services.sessions() as s:
        rows = (
            await s.execute(
                select(InboxUpdate).where(InboxUpdate.update_id == update["update_id"])
            )
        ).all()
    assert rows == []
    assert intake.chatter_count == chatter_before + 1
    assert worker.handled == before + 1  # only /my went through the handlers
    assert not [m for m in sim.bot_messages(GRID) if m["message_id"] > chat["message_id"]]


BAD_BODIES = [
    b"[]",
    b"42",
    b"{}",
    b'{"update_id": "7"}',
    b'{"update_id": 7, "message": "x"}',
    b"\xff\xfe",
    b"not json",
]


async def test_the_webhook_refuses_what_is_not_an_update_and_says_503_when_storage_is_down(
    stack: LocalStack,
) -> None:
    assert stack.runtime is not None
    stack.sim.add_user(42, "x")
    stack.sim.send_text(42, "/start")
    await expect(stack.sim, 42, lambda m: "件件有回音" in m["text"])
    good = {
        "update_id": 900,
        "message": {
            "message_id": 500,
            "date": 1,
            "chat": {"id": 42, "type": "private"},
            "from": {"id": 42, "is_bot": False, "first_name": "x"},
            "text": REPORT,
        },
    }
    server = TestServer(webhook_app(stack.runtime.intake, "s3cret"))
    down_engine = make_engine("postgresql+asyncpg://nobody@127.0.0.1:9/none")
    down = Intake(make_sessionmaker(down_engine), stack.runtime.intake.chatter, None, lambda: None)
    down_server = TestServer(webhook_app(down, "s3cret"))
    headers = {SECRET_HEADER: "s3cret", "Content-Type": "application/json"}
    async with TestClient(server) as client:
        for body in BAD_BODIES:
            async with client.post("/webhook", data=body, headers=headers) as r:
                assert r.status == 400, body
        async with (
            TestClient(down_server) as down_client,
            down_client.post("/webhook", json=good, headers=headers) as r,
        ):
            assert r.status == 503
        async with client.post("/webhook", json=good, headers=headers) as r:
            assert r.status == 200
    await down_engine.dispose()
    await expect(stack.sim, 42, lambda m: "工单编号：" in m["text"])
    async with stack.runtime.services.sessions() as s:
        assert len((await s.execute(select(Ticket))).scalars().all()) == 1


async def test_while_the_poller_catches_up_new_chats_wait_but_never_for_long(
    stack: LocalStack,
) -> None:
    assert stack.runtime is not None
    worker = stack.runtime.worker
    worker.intake_first_seconds = 0.3
    worker.behind(True)  # a full batch: more waits at Telegram
    assert worker.free == 0
    worker.behind(False)  # caught up
    assert worker.free > 0
    worker.behind(True)
    await asyncio.sleep(0.35)
    worker.behind(True)  # still full batches, but the hold of this backlog is spent
    assert worker.free > 0
    worker.behind(False)
    worker.intake_first_seconds = 5.0
    worker.behind(True)
    assert worker.free == 0
    await asyncio.sleep(0.55)  # no word from the poller: the hold lapses by itself
    assert worker.free > 0
