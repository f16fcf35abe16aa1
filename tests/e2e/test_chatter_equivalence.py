"""Deciding grid chatter from the raw JSON changes nothing anyone sees.

One mixed batch (chit-chat, reports, commands, 上报, replies to the bot, an edit, a captioned
photo, a join, a sender-less command, a bot, an unbound group, a group becoming a supergroup)
is read once with the in-memory pre-filter and once with every update sent through PTB's
handlers: the tickets, the prompts, the bindings and every message a user sees must be the
same.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from sqlalchemy import select

from bot import texts
from bot.intake.chatter import Chatter
from nlp import Extractor
from storage.models import BoundChat, GroupPrompt, Ticket
from tests.harness import ADMIN_ID, STAFF_CHAT_ID, LocalStack, expect

GRID = -1003100000001
BASIC_GRID = -3100000002  # a basic group: it becomes a supergroup mid-batch
SUPER = -1003100000003
UNBOUND = -1003100000004
RESIDENTS = (4101, 4102, 4103)
HELPER_BOT = 4199
IDS = re.compile(r"\d+")
# Said by the housekeeping on its own schedule, whatever the batch held.
BACKGROUND = {texts.CALENDAR_YEAR_MISSING.format(year=year) for year in range(2020, 2100)}
NUMBER = re.compile(r"\d{8}-\d{4}")
CHITCHAT = ["今天天气真好，大家吃了吗", "哈哈哈哈", "明天几点集合？", "谢谢大家", "收到"]
REPORTS = [
    "小区3号楼门口的路灯坏了一个星期了，晚上太黑了，请尽快维修",
    "楼下垃圾堆了三天没人清理，臭气熏天",
]


def _post(sim: Any, user_id: int, chat_id: int, body: dict[str, Any]) -> dict[str, Any]:
    """A message with any body (a join, a sticker) as the simulator delivers it."""
    return dict(sim._user_sent(sim.world.user_message(user_id, chat_id, body)))


def _seen_as(message: dict[str, Any]) -> str:
    """What a user sees of one message, ticket numbers and ids (in button data) masked."""
    keyboard = message.get("reply_markup", {}).get("inline_keyboard", [])
    labels = [
        [(b.get("text"), IDS.sub("#", str(b.get("callback_data")))) for b in row]
        for row in keyboard
    ]
    reply_to = (message.get("reply_to_message") or {}).get("message_id")
    return NUMBER.sub("#", f"{message.get('text') or message.get('caption')}|{reply_to}|{labels}")


async def _settle(sim: Any) -> None:
    """Wait until the bot has said everything it will say (nothing new for a second)."""
    before = -1
    while True:
        now = sum(len(state.messages) for state in sim.world.chats.values())
        if now == before:
            return
        before = now
        await asyncio.sleep(1.0)


async def _run(extractor: Extractor) -> dict[str, Any]:
    """Bind the grids, queue one mixed batch while the bot is stopped, let it drain."""
    async with LocalStack(extractor=extractor) as stack:
        sim = stack.sim
        await stack.setup_staff()
        sim.add_user(ADMIN_ID, "王主任")
        for uid in RESIDENTS:
            sim.add_user(uid, f"居民{uid}")
        sim.add_user(HELPER_BOT, "别的机器人")
        sim.world.users[HELPER_BOT]["is_bot"] = True
        sim.add_group(GRID, "幸福社区网格群")
        sim.add_group(BASIC_GRID, "和谐社区网格群", kind="group")
        sim.add_group(UNBOUND, "某业主群")
        for chat_id, name in ((GRID, "幸福社区"), (BASIC_GRID, "和谐社区")):
            sim.send_text(ADMIN_ID, f"/bind_grid {name}", chat_id=chat_id)
            await expect(sim, chat_id, lambda m: "网格群" in m["text"])
        bound = sim.bot_messages(GRID)[-1]["message_id"]
        await stack.stop_bot()

        a, b, c = RESIDENTS
        chat = [sim.send_text(a, CHITCHAT[i % 5], chat_id=GRID) for i in range(8)]
        sim.send_text(b, REPORTS[0], chat_id=GRID)
        sim.send_text(c, "哈哈哈哈", chat_id=GRID, reply_to_message_id=bound)
        sim.send_text(c, "上报", chat_id=GRID, reply_to_message_id=chat[2]["message_id"])
        sim.send_text(b, "/my", chat_id=GRID)
        sim.edit_text(a, GRID, chat[0]["message_id"], REPORTS[1])
        sim.send_photo(c, chat_id=GRID, caption=REPORTS[1])
        sim.send_photo(a, chat_id=GRID)
        _post(sim, a, GRID, {"new_chat_members": [dict(sim.world.user(c))]})
        _post(
            sim,
            a,
            GRID,
            {
                "sticker": {
                    "file_id": "s1",
                    "file_unique_id": "s1",
                    "type": "regular",
                    "width": 1,
                    "height": 1,
                    "is_animated": False,
                    "is_video": False,
                }
            },
        )
        sim.send_text(HELPER_BOT, REPORTS[0], chat_id=GRID)
        sim.push_raw_update(
            {
                "update_id": 970001,
                "message": {
                    "message_id": 9001,
                    "date": 1,
                    "text": "/report",
                    "entities": [{"type": "bot_command", "offset": 0, "length": 7}],
                    "chat": {"id": GRID, "type": "supergroup", "title": "幸福社区网格群"},
                    "sender_chat": {"id": GRID, "type": "supergroup", "title": "幸福社区网格群"},
                },
            }
        )
        sim.send_text(a, REPORTS[0], chat_id=UNBOUND)
        sim.send_text(b, "明天几点集合？", chat_id=BASIC_GRID)
        sim.migrate_group(BASIC_GRID, SUPER, ADMIN_ID)
        sim.send_text(b, "5栋电梯又坏了，老人上不去楼", chat_id=SUPER)
        for text in CHITCHAT:
            sim.send_text(a, text, chat_id=GRID)
        queued = len(sim._updates)

        runtime = await stack.start_bot()
        await sim.wait_until(
            lambda: runtime.intake.chatter_count + runtime.worker.handled >= queued, timeout=60
        )
        await _settle(sim)
        seen: dict[str, Any] = {"chatter": runtime.intake.chatter_count}
        async with runtime.services.sessions() as s:
            seen["tickets"] = sorted(
                (t.text, t.source_chat_id, t.source_message_id, str(t.status))
                for t in (await s.execute(select(Ticket))).scalars()
            )
            seen["prompts"] = sorted(
                (p.chat_id, p.source_message_id, p.author_id, p.text)
                for p in (await s.execute(select(GroupPrompt))).scalars()
            )
            seen["bound"] = sorted(
                (b.chat_id, str(b.kind)) for b in (await s.execute(select(BoundChat))).scalars()
            )
        # Ticket numbers follow the order chats were handled in (chats run in parallel), so
        # they are masked, and each chat's messages compared as a whole.
        seen["messages"] = {
            chat_id: sorted(
                _seen_as(m) for m in sim.bot_messages(chat_id) if m.get("text") not in BACKGROUND
            )
            for chat_id in (GRID, SUPER, UNBOUND, STAFF_CHAT_ID, *RESIDENTS)
        }
        return seen


@pytest.mark.timeout(240)
async def test_a_mixed_batch_reads_the_same_with_and_without_the_pre_filter(
    extractor: Extractor, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast = await _run(extractor)
    monkeypatch.setattr(Chatter, "silent", lambda _self, _raw: False)
    full = await _run(extractor)
    assert fast["chatter"] >= 12  # the pre-filter decided the chit-chat, the sticker, the bot
    assert full["chatter"] == 0
    assert fast["tickets"] and fast["tickets"] == full["tickets"]
    assert fast["prompts"] == full["prompts"]
    assert fast["bound"] == full["bound"]
    assert any(chat_id == SUPER for chat_id, _ in fast["bound"])  # the binding moved
    for chat_id, seen in fast["messages"].items():
        assert seen == full["messages"][chat_id], chat_id
