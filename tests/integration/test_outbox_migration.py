"""Upgrading to intents in the outbox loses no message that was still waiting."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import select, text

from bot.buttons import CardPress
from bot.domain import Action
from bot.intents import Card, Earlier, GroupAnswer, Key, Notice, Photo, Prompt, Removal, loads
from storage.db import make_engine, make_sessionmaker, upgrade
from storage.models import Base, OutboxMessage

ACCEPT = {"text": "受理", "callback_data": "t:accept:1"}
WIRE_ROWS = [
    ("sendMessage", "reporter", {"text": "已收到", "link_preview_options": {"is_disabled": True}}),
    (
        "sendMessage",
        "card",
        {
            "text": "【工单 1】",
            "reply_markup": {
                "inline_keyboard": [[{"text": "受理", "callback_data": "t:accept:1"}]]
            },
        },
    ),
    (
        "sendMessage",
        "group_ack",
        {
            "text": "已登记",
            "reply_parameters": {"message_id": 7, "allow_sending_without_reply": 1},
        },
    ),
    ("sendMessage", "prompt", {"text": "请回复", "reply_markup": {"force_reply": True}}),
    ("sendPhoto", "reporter", {"photo": "AgAC", "caption": "办理结果"}),
    ("deleteMessage", "delete", {"ref_key": "gprompt:3"}),
]


async def test_waiting_wire_rows_become_the_intents_they_stood_for(database_url: str) -> None:
    engine = make_engine(database_url)
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.drop_all)
        await conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    await engine.dispose()
    await upgrade(database_url, "0005")
    engine = make_engine(database_url)
    async with engine.begin() as conn:
        for i, (method, purpose, payload) in enumerate(WIRE_ROWS):
            await conn.execute(
                text(
                    "INSERT INTO outbox (idempotency_key, chat_id, method, payload, purpose, "
                    "status, attempts, next_attempt_at, created_at) VALUES "
                    "(:key, -5, :method, :payload, :purpose, 'pending', 0, :at, :at)"
                ),
                {
                    "key": f"k{i}",
                    "method": method,
                    "payload": json.dumps(payload),
                    "purpose": purpose,
                    "at": datetime(2026, 12, 1, 10),  # stored naive UTC
                },
            )
    await engine.dispose()
    await upgrade(database_url)
    engine = make_engine(database_url)
    async with make_sessionmaker(engine)() as session:
        rows = (await session.execute(select(OutboxMessage).order_by(OutboxMessage.id))).scalars()
        intents = [loads(r.kind, r.payload) for r in rows]
    await engine.dispose()
    assert intents == [
        Notice("已收到"),
        Card("【工单 1】", ((Key("受理", CardPress(Action.ACCEPT, 1)),),)),
        GroupAnswer("已登记", reply_to=7),
        Prompt("请回复"),
        Photo("AgAC", "办理结果"),
        Removal(Earlier(outbox_key="gprompt:3")),
    ]
