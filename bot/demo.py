"""The scripted demo scene: the real bot against the local Bot API simulator, on SQLite."""

from __future__ import annotations

import asyncio
import sys
import tempfile
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from bot.app import build_runtime, start_runtime, stop_runtime
from bot.config import load_settings
from bot.simulator import BotAPISimulator
from bot.simulator.scene import (
    ADMIN_ID,
    RESIDENT_ID,
    STAFF_CHAT_ID,
    STAFF_ID,
    buttons,
    expect,
    mark,
    staff_a_chat,
    tap_through,
)
from nlp import Extractor
from storage.db import upgrade


@asynccontextmanager
async def local_bot(extractor: Extractor) -> AsyncIterator[BotAPISimulator]:
    """Run the simulator and the real bot wired to it, on a temporary SQLite database."""
    with tempfile.TemporaryDirectory(prefix="huiyin-") as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'demo.db'}"
        await upgrade(url)
        sim = BotAPISimulator()
        await sim.start()
        try:
            settings = load_settings(
                HUIYIN_TELEGRAM_API_URL=sim.root_url,
                HUIYIN_DATABASE_URL=url,
                HUIYIN_ADMIN_IDS=str(ADMIN_ID),
                HUIYIN_REDIS_URL=None,
            )
            runtime = await build_runtime(settings, token=sim.token, extractor=extractor)
            await start_runtime(runtime)
            try:
                yield sim
            finally:
                await stop_runtime(runtime)
        finally:
            await sim.stop()


class Transcript:
    """Prints what each chat shows, in the order it happened, as people would read it."""

    def __init__(
        self,
        sim: BotAPISimulator,
        names: dict[int, str],
        chats: dict[int, str],
        out: Callable[[str], None],
    ) -> None:
        self.sim = sim
        self.names = names
        self.chats = chats
        self.out = out
        self.printed = 0
        self.seen: set[tuple[int, int]] = set()

    def flush(self) -> None:
        """Print every message sent or edited since the last flush."""
        for chat_id, msg in self.sim.feed[self.printed :]:
            key = (chat_id, msg["message_id"])
            shown = msg.get("text") or msg.get("caption") or "[照片]"
            if "location" in msg:
                shown = "[位置]"
            if buttons(msg):
                shown += "\n" + "  ".join(f"[{b}]" for b in buttons(msg))
            sender = msg.get("from", {})
            who = "回音" if sender.get("is_bot") else self.names.get(sender.get("id", 0), "?")
            mark = "（已更新）" if key in self.seen else ""
            self.seen.add(key)
            body = shown.replace("\n", "\n" + " " * 6)
            self.out(f"[{self.chats.get(chat_id, chat_id)}] {who}{mark}：\n      {body}")
        self.printed = len(self.sim.feed)


async def play_scene(sim: BotAPISimulator, out: Callable[[str], None] = print) -> None:
    """Play the whole loop: report, accept, resolve, 不满意 → 重办, resolve again, 满意.

    The staff chat must already be bound and staffed (`staff_a_chat`).
    """
    sim.add_user(RESIDENT_ID, "张阿姨")
    names = {ADMIN_ID: "王主任", STAFF_ID: "李明", RESIDENT_ID: "张阿姨"}
    t = Transcript(sim, names, {STAFF_CHAT_ID: "工作群", RESIDENT_ID: "私聊"}, out)
    out("=== 回音演示：居民反映 → 受理 → 办结 → 评价（不满意 → 重办）→ 办结 → 满意 ===\n")
    t.flush()

    def last_bot(chat_id: int, has: str) -> dict[str, Any]:
        return [m for m in sim.bot_messages(chat_id) if has in (m.get("text") or "")][-1]

    async def staff_resolve(number: str, note: str) -> None:
        card = last_bot(STAFF_CHAT_ID, f"【工单 {number}】")
        since_staff, since_resident = mark(sim, STAFF_CHAT_ID), mark(sim, RESIDENT_ID)
        sim.press_button(STAFF_ID, STAFF_CHAT_ID, card["message_id"], buttons(card)["办结"])
        prompt = await expect(
            sim,
            STAFF_CHAT_ID,
            lambda m: "办理结果" in (m.get("text") or "") and number in m["text"],
            after=since_staff,
        )
        t.flush()
        sim.send_text(
            STAFF_ID, note, chat_id=STAFF_CHAT_ID, reply_to_message_id=prompt["message_id"]
        )
        await expect(
            sim, RESIDENT_ID, lambda m: "完成回访" in m["text"], after=since_resident
        )

    sim.send_text(RESIDENT_ID, "/start")
    await expect(sim, RESIDENT_ID, lambda m: "件件有回音" in m.get("text", ""))
    sim.send_text(RESIDENT_ID, "幸福小区3栋楼道的灯坏了一个星期了，晚上漆黑一片，老人上下楼很危险")
    ack = await expect(sim, RESIDENT_ID, lambda m: "工单编号：" in m.get("text", ""))
    number = ack["text"].split("工单编号：", 1)[1].split()[0]
    card = await expect(sim, STAFF_CHAT_ID, lambda m: number in m.get("text", ""))
    t.flush()

    sim.press_button(STAFF_ID, STAFF_CHAT_ID, card["message_id"], buttons(card)["受理"])
    await expect(sim, RESIDENT_ID, lambda m: "已受理" in m.get("text", ""))
    t.flush()

    await staff_resolve(number, "已更换3栋一楼楼道灯泡，经测试照明正常。")
    t.flush()

    out("\n--- 居民不满意，工单重办 ---\n")
    notice = last_bot(RESIDENT_ID, "完成回访")
    await tap_through(sim, RESIDENT_ID, notice, "联系过", "部分解决", "不满意")
    await expect(sim, RESIDENT_ID, lambda m: "不满意的原因" in m.get("text", ""))
    sim.send_text(RESIDENT_ID, "只换了一楼的，二楼到五楼还是不亮")
    await expect(sim, STAFF_CHAT_ID, lambda m: "不满意原因" in m.get("text", ""))
    await expect(sim, RESIDENT_ID, lambda m: "转给办理人员" in m.get("text", ""))
    t.flush()

    card = last_bot(STAFF_CHAT_ID, "重办")
    since = mark(sim, RESIDENT_ID)
    sim.press_button(STAFF_ID, STAFF_CHAT_ID, card["message_id"], buttons(card)["受理"])
    await expect(sim, RESIDENT_ID, lambda m: "已受理" in m.get("text", ""), after=since)
    await staff_resolve(number, "已更换2至5楼全部楼道灯泡并检修线路，逐层测试正常。")
    t.flush()

    out("\n--- 居民满意，工单办结 ---\n")
    notice = last_bot(RESIDENT_ID, "完成回访")
    await tap_through(sim, RESIDENT_ID, notice, "联系过", "已解决", "满意")
    await expect(sim, RESIDENT_ID, lambda m: "感谢您的评价" in m.get("text", ""))
    await expect(sim, STAFF_CHAT_ID, lambda m: "评价：满意" in m.get("text", ""))
    t.flush()
    out(f"\n=== 演示结束：工单 {number} 已办结，居民满意。件件有回音。 ===")


async def _interactive(sim: BotAPISimulator) -> None:
    sim.add_user(RESIDENT_ID, "您")
    t = Transcript(
        sim,
        {RESIDENT_ID: "您", STAFF_ID: "李明", ADMIN_ID: "王主任"},
        {STAFF_CHAT_ID: "工作群", RESIDENT_ID: "私聊"},
        print,
    )
    t.flush()
    print(
        "您现在是居民，请输入要反映的问题"
        "（/help 查看命令；!1 !2 !3 按最近消息的按钮；/quit 退出）。"
    )
    print("工作人员李明会自动受理并办结新工单。\n")
    handled: set[str] = set()
    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line or line.strip() == "/quit":
            return
        line = line.rstrip("\n")
        if line.startswith("!") and line[1:].isdigit():
            with_buttons = [m for m in sim.bot_messages(RESIDENT_ID) if buttons(m)]
            if with_buttons:
                choices = list(buttons(with_buttons[-1]).values())
                idx = int(line[1:]) - 1
                if 0 <= idx < len(choices):
                    sim.press_button(
                        RESIDENT_ID, RESIDENT_ID, with_buttons[-1]["message_id"], choices[idx]
                    )
        elif line.strip():
            sim.send_text(RESIDENT_ID, line)
        await asyncio.sleep(1.5)
        for card in sim.bot_messages(STAFF_CHAT_ID):
            b = buttons(card)
            key = f"{card['message_id']}:{','.join(b)}"
            if "受理" in b and key not in handled:
                handled.add(key)
                sim.press_button(STAFF_ID, STAFF_CHAT_ID, card["message_id"], b["受理"])
                await asyncio.sleep(1.0)
                fresh = next(
                    m
                    for m in sim.bot_messages(STAFF_CHAT_ID)
                    if m is card or m["message_id"] == card["message_id"]
                )
                if "办结" in buttons(fresh):
                    sim.press_button(
                        STAFF_ID, STAFF_CHAT_ID, fresh["message_id"], buttons(fresh)["办结"]
                    )
                    prompt = await expect(
                        sim, STAFF_CHAT_ID, lambda m: "办理结果" in (m.get("text") or "")
                    )
                    sim.send_text(
                        STAFF_ID,
                        "已安排网格员到现场处理完毕。",
                        chat_id=STAFF_CHAT_ID,
                        reply_to_message_id=prompt["message_id"],
                    )
                    await asyncio.sleep(1.5)
        t.flush()


async def run_demo(*, interactive: bool = False) -> int:
    """Run the demo against the built-in simulator on a temporary SQLite database."""
    print("正在加载分词词典和规则……", flush=True)
    extractor = await asyncio.to_thread(Extractor.load)
    async with local_bot(extractor) as sim:
        await staff_a_chat(sim)
        if interactive:
            await _interactive(sim)
        else:
            await play_scene(sim)
    return 0
