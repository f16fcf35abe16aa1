"""Prompts answer the right question: only the presser's reply to the prompt is the note."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import select

from bot.domain import Status
from storage.models import PendingInput
from tests.e2e.helpers import press, report, texts_in, the_ticket
from tests.harness import RESIDENT_ID, STAFF_CHAT_ID, STAFF_ID, LocalStack, expect, mark

REPORT = "幸福小区3栋楼道的灯坏了一个星期了，晚上太黑了"
COLLEAGUE = 1003


async def test_only_the_pressers_reply_to_the_prompt_is_the_result(stack: LocalStack) -> None:
    sim = stack.sim
    await stack.setup_staff(COLLEAGUE, STAFF_CHAT_ID, "王芳")
    sim.add_user(RESIDENT_ID, "张阿姨")
    number = await report(stack, RESIDENT_ID, REPORT)
    card = await expect(sim, STAFF_CHAT_ID, lambda m: number in m.get("text", ""))

    since = mark(sim, STAFF_CHAT_ID)
    press(stack, STAFF_ID, card, "办结")
    prompt = await expect(sim, STAFF_CHAT_ID, lambda m: "请回复工单" in m["text"], after=since)
    # The prompt names the presser and opens a reply for them only.
    assert prompt["text"].startswith("李明，")
    assert prompt["reply_markup"]["force_reply"] is True
    assert prompt["reply_markup"]["selective"] is True
    mention = prompt["entities"][0]
    assert mention["type"] == "text_mention" and mention["user"]["id"] == STAFF_ID
    await stack.recorded(prompt)

    # Ordinary talk in the chat, by the presser or a colleague, is not the result.
    resident_seen = mark(sim, RESIDENT_ID)
    sim.send_text(STAFF_ID, "稍等，我先问问物业怎么回事", chat_id=STAFF_CHAT_ID)
    sim.send_text(
        COLLEAGUE, "我来答：已经修好了", chat_id=STAFF_CHAT_ID,
        reply_to_message_id=prompt["message_id"],
    )
    chatter = sim.send_text(STAFF_ID, "物业说明天来修", chat_id=STAFF_CHAT_ID)
    sim.send_text(  # a reply, but to something else than the prompt
        STAFF_ID, "好的", chat_id=STAFF_CHAT_ID, reply_to_message_id=chatter["message_id"]
    )
    await asyncio.sleep(1.5)
    assert [m for m in sim.bot_messages(RESIDENT_ID) if m["message_id"] > resident_seen] == []
    assert not [t for t in texts_in(stack, STAFF_CHAT_ID) if "已办结" in t and number in t]
    ticket = await the_ticket(stack, number)
    assert ticket.status == Status.NEW and ticket.resolution_note is None
    assert stack.runtime is not None
    async with stack.runtime.services.sessions() as s:
        pending = (await s.execute(select(PendingInput))).scalars().all()
    assert [(p.user_id, p.prompt_key is not None) for p in pending] == [(STAFF_ID, True)]

    # The presser's reply to the prompt is the result the resident hears.
    sim.send_text(
        STAFF_ID, "已更换3栋楼道灯泡", chat_id=STAFF_CHAT_ID,
        reply_to_message_id=prompt["message_id"],
    )
    notice = await expect(sim, RESIDENT_ID, lambda m: "已办结" in m["text"])
    assert "办理结果：已更换3栋楼道灯泡" in notice["text"]
    assert "稍等" not in notice["text"] and "修好了" not in notice["text"]
    ticket = await the_ticket(stack, number)
    assert ticket.status == Status.RESOLVED
    assert ticket.resolution_note == "已更换3栋楼道灯泡"


async def test_a_reply_to_an_expired_prompt_gets_a_clear_answer(stack: LocalStack) -> None:
    sim = stack.sim
    assert stack.runtime is not None
    services = stack.runtime.services
    sim.add_user(RESIDENT_ID, "张阿姨")
    number = await report(stack, RESIDENT_ID, REPORT)
    card = await expect(sim, STAFF_CHAT_ID, lambda m: number in m.get("text", ""))
    since = mark(sim, STAFF_CHAT_ID)
    press(stack, STAFF_ID, card, "退回")
    prompt = await expect(sim, STAFF_CHAT_ID, lambda m: "退回工单" in m["text"], after=since)
    await stack.recorded(prompt)
    real_clock = services.clock
    later = real_clock() + timedelta(seconds=services.prompt_ttl_seconds, minutes=1)
    services.clock = lambda: later
    try:
        answer = sim.send_text(
            STAFF_ID, "不属于本平台受理范围", chat_id=STAFF_CHAT_ID,
            reply_to_message_id=prompt["message_id"],
        )
        await expect(
            sim, STAFF_CHAT_ID, lambda m: "提问已过期" in m["text"], after=answer["message_id"]
        )
    finally:
        services.clock = real_clock
    assert (await the_ticket(stack, number)).status == Status.NEW


async def test_a_reply_that_beats_the_prompts_answer_back_is_still_the_note(
    stack: LocalStack,
) -> None:
    """Telegram shows the prompt at once, but its answer to the bot (with the message id) is
    slow: a quick reply arrives first, and is the note all the same."""
    sim = stack.sim
    sim.add_user(RESIDENT_ID, "张阿姨")
    number = await report(stack, RESIDENT_ID, REPORT)
    card = await expect(sim, STAFF_CHAT_ID, lambda m: number in m.get("text", ""))
    since = mark(sim, STAFF_CHAT_ID)
    sim.delay_next("sendMessage", seconds=2.0, delivered=True)
    press(stack, STAFF_ID, card, "办结")
    prompt = await expect(sim, STAFF_CHAT_ID, lambda m: "请回复工单" in m["text"], after=since)
    sim.send_text(
        STAFF_ID, "已更换3栋楼道灯泡", chat_id=STAFF_CHAT_ID,
        reply_to_message_id=prompt["message_id"],
    )
    notice = await expect(sim, RESIDENT_ID, lambda m: "已办结" in m["text"])
    assert "办理结果：已更换3栋楼道灯泡" in notice["text"]
    ticket = await the_ticket(stack, number)
    assert ticket.status == Status.RESOLVED
    assert ticket.resolution_note == "已更换3栋楼道灯泡"
