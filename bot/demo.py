"""The local stack (simulator + real bot + temporary SQLite) and the scripted demo scene."""

from __future__ import annotations

import asyncio
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

from bot.app import Runtime, build_runtime, start_runtime, stop_runtime
from bot.config import load_settings
from bot.delivery import Limits
from bot.simulator import BotAPISimulator
from nlp import Extractor
from storage.db import upgrade

ADMIN_ID = 1001
STAFF_ID = 1002
RESIDENT_ID = 2001
STAFF_CHAT_ID = -1001000000001


class LocalStack:
    """The local Bot API simulator and the real bot wired to it, on a database of its own."""

    def __init__(
        self,
        *,
        database_url: str | None = None,
        admin_ids: tuple[int, ...] = (ADMIN_ID,),
        extractor: Extractor | None = None,
        limits: Limits | None = None,
        lease_seconds: float = 60.0,
        migrate: bool = True,
        enforce_limits: bool = False,
        redis_url: str | None = None,
    ) -> None:
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self.database_url = database_url
        self.admin_ids = admin_ids
        self.extractor = extractor
        self.limits = limits
        self.lease_seconds = lease_seconds
        self.migrate = migrate
        self.redis_url = redis_url
        self.sim = BotAPISimulator(enforce_limits=enforce_limits)
        self.runtime: Runtime | None = None
        self._staffed: set[tuple[int, int]] = set()

    async def __aenter__(self) -> LocalStack:
        if self.database_url is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="huiyin-")
            self.database_url = f"sqlite+aiosqlite:///{Path(self._tmp.name) / 'demo.db'}"
        if self.migrate:
            await upgrade(self.database_url)
        await self.sim.start()
        await self.start_bot()
        return self

    async def start_bot(self) -> Runtime:
        """Build and start the bot against the simulator (again, after a stop)."""
        assert self.database_url is not None
        settings = load_settings(
            HUIYIN_TELEGRAM_API_URL=self.sim.root_url,
            HUIYIN_DATABASE_URL=self.database_url,
            HUIYIN_ADMIN_IDS=",".join(str(i) for i in self.admin_ids),
            HUIYIN_REDIS_URL=self.redis_url,
        )
        self.runtime = await build_runtime(
            settings,
            token=self.sim.token,
            extractor=self.extractor,
            limits=self.limits,
            lease_seconds=self.lease_seconds,
        )
        await start_runtime(self.runtime)
        return self.runtime

    async def stop_bot(self) -> None:
        """Stop the bot but keep the simulator and the database."""
        if self.runtime is not None:
            await stop_runtime(self.runtime)
            self.runtime = None

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop_bot()
        await self.sim.stop()
        if self._tmp is not None:
            self._tmp.cleanup()

    async def setup_staff(
        self,
        staff_id: int = STAFF_ID,
        chat_id: int = STAFF_CHAT_ID,
        name: str = "李明",
        department: str = "",
    ) -> None:
        """Bind a staff chat (the dispatch chat, or a department's) and register one member of
        staff, as an admin would in Telegram."""
        if (staff_id, chat_id) in self._staffed:
            return
        self._staffed.add((staff_id, chat_id))
        sim = self.sim
        admin_id = self.admin_ids[0]
        sim.add_user(admin_id, "王主任")
        sim.add_user(staff_id, name)
        if chat_id not in sim.world.chats:
            sim.add_group(chat_id, f"{department or '街道接诉即办'}工作群")
            sim.send_text(admin_id, f"/bind_staff {department}".strip(), chat_id=chat_id)
            await expect(sim, chat_id, lambda m: "本群已设为" in m.get("text", ""))
        hello = sim.send_text(staff_id, "大家好，我负责处理工单。", chat_id=chat_id)
        sim.send_text(
            admin_id, "/add_staff", chat_id=chat_id, reply_to_message_id=hello["message_id"]
        )
        await expect(sim, chat_id, lambda m: "登记为工作人员" in m.get("text", ""))


async def expect(
    sim: BotAPISimulator,
    chat_id: int,
    predicate: Callable[[dict[str, Any]], bool],
    timeout: float = 10.0,
    *,
    after: int = 0,
) -> dict[str, Any]:
    """Return the bot's latest message in `chat_id` (id above `after`) matching `predicate`."""

    def found() -> list[dict[str, Any]]:
        return [m for m in sim.bot_messages(chat_id) if m["message_id"] > after and predicate(m)]

    try:
        await sim.wait_until(lambda: bool(found()), timeout=timeout)
    except TimeoutError:
        shown = "\n".join(m.get("text") or "" for m in sim.chat_messages(chat_id))
        raise TimeoutError(
            f"no matching bot message in chat {chat_id}; it holds:\n{shown}"
        ) from None
    return found()[-1]


def mark(sim: BotAPISimulator, chat_id: int) -> int:
    """The newest message id in a chat, to wait for what comes after it."""
    return max((m["message_id"] for m in sim.chat_messages(chat_id)), default=0)


async def tap_through(
    sim: BotAPISimulator, user_id: int, message: dict[str, Any], *labels: str
) -> None:
    """Answer a 回访 message question by question: wait for each button, then press it."""
    chat_id, message_id = message["chat"]["id"], message["message_id"]
    for label in labels:

        def asking(m: dict[str, Any], label: str = label) -> bool:
            return bool(m["message_id"] == message_id and label in buttons(m))

        current = await expect(sim, chat_id, asking)
        sim.press_button(user_id, chat_id, message_id, buttons(current)[label])


def buttons(message: dict[str, Any]) -> dict[str, str]:
    """Return a bot message's inline buttons as {label: callback_data}."""
    markup = message.get("reply_markup") or {}
    return {
        b["text"]: b["callback_data"] for row in markup.get("inline_keyboard", []) for b in row
    }


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


async def play_scene(stack: LocalStack, out: Callable[[str], None] = print) -> None:
    """Play the whole loop: report, accept, resolve, 不满意 → 重办, resolve again, 满意."""
    sim = stack.sim
    await stack.setup_staff()
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


async def _interactive(stack: LocalStack) -> None:
    sim = stack.sim
    await stack.setup_staff()
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
    async with LocalStack(extractor=extractor) as stack:
        if interactive:
            await _interactive(stack)
        else:
            await play_scene(stack)
    return 0
