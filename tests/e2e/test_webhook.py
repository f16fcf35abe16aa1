"""Webhook mode: the secret header is checked and updates reach the bot."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from typing import NamedTuple

import aiohttp
import pytest
from sqlalchemy import func, select

from bot.app import Runtime, build_runtime, start_runtime, stop_runtime
from bot.config import load_settings
from bot.simulator import BotAPISimulator
from bot.webhook import SECRET_HEADER, serve_webhook
from nlp import Extractor
from storage.models import InboxUpdate, Ticket
from tests.harness import RESIDENT_ID, expect

SECRET = "s3cret-token_ABC"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class WebhookBot(NamedTuple):
    sim: BotAPISimulator
    runtime: Runtime
    url: str


@pytest.fixture
async def webhook_bot(sqlite_url: str, extractor: Extractor) -> AsyncIterator[WebhookBot]:
    sim = BotAPISimulator()
    await sim.start()
    settings = load_settings(
        HUIYIN_TELEGRAM_API_URL=sim.root_url, HUIYIN_DATABASE_URL=sqlite_url, HUIYIN_ADMIN_IDS="1"
    )
    runtime = await build_runtime(settings, token=sim.token, extractor=extractor)
    await start_runtime(runtime, polling=False)
    port = free_port()
    url = f"http://127.0.0.1:{port}/webhook"
    site = await serve_webhook(
        runtime.application,
        runtime.intake,
        host="127.0.0.1",
        port=port,
        secret=SECRET,
        public_url=url,
    )
    yield WebhookBot(sim, runtime, url)
    await site.stop()
    await stop_runtime(runtime)
    await sim.stop()


async def test_updates_arrive_by_webhook_with_the_secret(webhook_bot: WebhookBot) -> None:
    sim = webhook_bot.sim
    assert sim.webhook_url == webhook_bot.url
    sim.add_user(RESIDENT_ID, "张阿姨")
    sim.send_text(RESIDENT_ID, "幸福小区3栋楼道的灯坏了一个星期了")
    ack = await expect(sim, RESIDENT_ID, lambda m: "工单编号：" in m["text"])
    assert ack["chat"]["id"] == RESIDENT_ID


@pytest.mark.parametrize("header", [None, "wrong", SECRET + "x"])
async def test_anything_without_the_secret_gets_401_and_changes_nothing(
    webhook_bot: WebhookBot, header: str | None
) -> None:
    runtime, url = webhook_bot.runtime, webhook_bot.url
    update = {
        "update_id": 77,
        "message": {
            "message_id": 5,
            "date": 1,
            "chat": {"id": 42, "type": "private"},
            "from": {"id": 42, "is_bot": False, "first_name": "x"},
            "text": "幸福小区3栋楼道的灯坏了一个星期了",
        },
    }
    headers = {SECRET_HEADER: header} if header is not None else {}
    async with aiohttp.ClientSession() as http, http.post(url, json=update, headers=headers) as r:
        assert r.status == 401
    async with runtime.services.sessions() as s:
        seen = (await s.execute(select(func.count()).select_from(InboxUpdate))).scalar_one()
        tickets = (await s.execute(select(func.count()).select_from(Ticket))).scalar_one()
    assert seen == 0 and tickets == 0
