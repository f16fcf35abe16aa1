"""Small helpers for end-to-end tests: read what users see, press what they see."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from storage.models import Ticket
from tests.harness import LocalStack, buttons, expect


def texts_in(stack: LocalStack, chat_id: int) -> list[str]:
    """The texts of the bot's messages in a chat, in order."""
    return [m.get("text") or "" for m in stack.sim.bot_messages(chat_id)]


def last_with(stack: LocalStack, chat_id: int, needle: str) -> dict[str, Any]:
    """The bot's latest message in a chat containing `needle`."""
    found = [m for m in stack.sim.bot_messages(chat_id) if needle in (m.get("text") or "")]
    assert found, f"no bot message with {needle!r} in {chat_id}: {texts_in(stack, chat_id)}"
    return found[-1]


def press(stack: LocalStack, user_id: int, message: dict[str, Any], label: str) -> dict[str, Any]:
    """Press the button called `label` on a bot message, as `user_id`."""
    return stack.sim.press_button(
        user_id, message["chat"]["id"], message["message_id"], buttons(message)[label]
    )


async def ticket_count(stack: LocalStack) -> int:
    """How many tickets the database holds."""
    assert stack.runtime is not None
    async with stack.runtime.services.sessions() as s:
        return int((await s.execute(select(func.count()).select_from(Ticket))).scalar_one())


async def the_ticket(stack: LocalStack, number: str) -> Ticket:
    """Load one ticket by number."""
    assert stack.runtime is not None
    async with stack.runtime.services.sessions() as s:
        return (await s.execute(select(Ticket).where(Ticket.number == number))).scalar_one()


async def report(stack: LocalStack, user_id: int, text: str) -> str:
    """Send a report as `user_id` and return the ticket number from the bot's answer."""
    stack.sim.send_text(user_id, text)
    before = len(stack.sim.bot_messages(user_id))
    ack = await expect(
        stack.sim, user_id, lambda m: "工单编号：" in m.get("text", "") and m["message_id"] > 0
    )
    assert len(stack.sim.bot_messages(user_id)) > before
    return str(ack["text"]).split("工单编号：", 1)[1].split()[0]
