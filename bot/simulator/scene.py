"""Acting in the simulated Telegram as people do: the cast, waiting for the bot, its buttons.

Used by the scripted demo (`huiyin demo`) and by the end-to-end tests.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .server import BotAPISimulator

ADMIN_ID = 1001
STAFF_ID = 1002
RESIDENT_ID = 2001
STAFF_CHAT_ID = -1001000000001


async def expect(
    sim: BotAPISimulator,
    chat_id: int,
    predicate: Callable[[dict[str, Any]], bool],
    timeout: float = 10.0,
    *,
    after: int = 0,
) -> dict[str, Any]:
    """Return the bot's latest message in `chat_id` (id above `after`) matching `predicate`."""

    def matches(m: dict[str, Any]) -> bool:
        try:
            return predicate(m)
        except KeyError:  # a photo or a map pin has no "text": it does not match text checks
            return False

    def found() -> list[dict[str, Any]]:
        return [m for m in sim.bot_messages(chat_id) if m["message_id"] > after and matches(m)]

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


def buttons(message: dict[str, Any]) -> dict[str, str]:
    """Return a bot message's inline buttons as {label: callback_data}."""
    markup = message.get("reply_markup") or {}
    return {
        b["text"]: b["callback_data"] for row in markup.get("inline_keyboard", []) for b in row
    }


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


async def staff_a_chat(
    sim: BotAPISimulator,
    *,
    admin_id: int = ADMIN_ID,
    staff_id: int = STAFF_ID,
    chat_id: int = STAFF_CHAT_ID,
    name: str = "李明",
    department: str = "",
) -> None:
    """Bind a staff chat (the dispatch chat, or a department's) and register one member of
    staff, as an admin would in Telegram."""
    sim.add_user(admin_id, "王主任")
    sim.add_user(staff_id, name)
    if chat_id not in sim.world.chats:
        sim.add_group(chat_id, f"{department or '街道接诉即办'}工作群")
        sim.send_text(admin_id, f"/bind_staff {department}".strip(), chat_id=chat_id)
        await expect(sim, chat_id, lambda m: "本群已设为" in m.get("text", ""))
    hello = sim.send_text(staff_id, "大家好，我负责处理工单。", chat_id=chat_id)
    sim.send_text(admin_id, "/add_staff", chat_id=chat_id, reply_to_message_id=hello["message_id"])
    await expect(sim, chat_id, lambda m: "登记为工作人员" in m.get("text", ""))
