"""Contact when needed, on the record: a reason before the reporter's name, audited, 保密."""

from __future__ import annotations

import copy
from typing import Any

from sqlalchemy import select

from bot.domain import EventKind, Role, Status
from storage.models import TicketEvent
from tests.e2e.helpers import press, report, the_ticket
from tests.e2e.test_dispatch import (  # noqa: F401  (the fixture)
    CG_CHAT,
    CG_ID,
    GARBAGE,
    NEIGHBOUR,
    card_in,
    depts,
)
from tests.harness import RESIDENT_ID, STAFF_CHAT_ID, STAFF_ID, LocalStack, buttons, expect, mark


async def reveals(stack: LocalStack, number: str) -> list[tuple[int | None, str, str | None]]:
    """The reveal audit rows of a ticket: (who, role, why)."""
    ticket = await the_ticket(stack, number)
    assert stack.runtime is not None
    async with stack.runtime.services.sessions() as s:
        rows = await s.execute(
            select(TicketEvent.actor_id, TicketEvent.role, TicketEvent.note).where(
                TicketEvent.ticket_id == ticket.id,
                TicketEvent.action == EventKind.REVEAL_CONTACT,
            )
        )
        return [(a, str(r), n) for a, r, n in rows.all()]


async def answer_prompt(stack: LocalStack, user_id: int, chat_id: int, text: str) -> None:
    """Reply to the bot's latest prompt naming this person in the chat."""
    prompt = await expect(
        stack.sim,
        chat_id,
        lambda m: (
            "原因（将记录在案）" in m["text"]
            and m.get("entities", [{}])[0].get("user", {}).get("id") == user_id
        ),
    )
    await stack.recorded(prompt)
    stack.sim.send_text(user_id, text, chat_id=chat_id, reply_to_message_id=prompt["message_id"])


async def test_department_staff_see_the_reporter_with_a_reason(
    depts: LocalStack,  # noqa: F811
) -> None:
    sim = depts.sim
    number = await report(depts, RESIDENT_ID, GARBAGE)
    card = await card_in(depts, CG_CHAT, number)
    assert "张阿姨" not in card["text"]  # masked on the card
    since = mark(sim, CG_CHAT)
    press(depts, CG_ID, card, "联系方式")
    await answer_prompt(depts, CG_ID, CG_CHAT, "需要上门核实垃圾堆放的具体位置")
    shown = await expect(sim, CG_CHAT, lambda m: "反映人：张阿姨" in m["text"], after=since)
    assert "查看原因：需要上门核实垃圾堆放的具体位置" in shown["text"]
    link = [e for e in shown["entities"] if e["type"] == "text_mention"]
    assert link and link[0]["user"]["id"] == RESIDENT_ID
    assert await reveals(depts, number) == [(CG_ID, Role.STAFF, "需要上门核实垃圾堆放的具体位置")]
    # /ticket shows who looked, when and why.
    since = mark(sim, CG_CHAT)
    sim.send_text(CG_ID, f"/ticket {number}", chat_id=CG_CHAT)
    timeline = await expect(sim, CG_CHAT, lambda m: "办理过程" in m["text"], after=since)
    assert "查看反映人联系方式｜城管小赵｜需要上门核实垃圾堆放的具体位置" in timeline["text"]


async def test_confidential_reporter_is_revealed_only_in_the_dispatch_chat(
    depts: LocalStack,  # noqa: F811
) -> None:
    sim = depts.sim
    number = await report(depts, RESIDENT_ID, GARBAGE + "，请对我的身份保密")
    ack = await expect(sim, RESIDENT_ID, lambda m: number in m["text"] and "工单编号" in m["text"])
    assert "已按您的要求保密" in ack["text"]
    assert set(buttons(ack)) == {"取消保密"}  # typed 保密: the tap to take it back is there
    assert (await the_ticket(depts, number)).confidential
    card = await card_in(depts, CG_CHAT, number, "反映人要求保密")
    assert "联系方式" not in buttons(card)

    # The department asks anyway: refused, nothing revealed, nothing recorded.
    since = mark(sim, CG_CHAT)
    sim.send_text(CG_ID, f"/contact {number}", chat_id=CG_CHAT)
    await expect(sim, CG_CHAT, lambda m: "只有总平台可以查看" in m["text"], after=since)
    assert not [m for m in sim.bot_messages(CG_CHAT) if "反映人：张阿姨" in (m.get("text") or "")]
    assert await reveals(depts, number) == []

    # The dispatch chat may, with a reason, on the record.
    since = mark(sim, STAFF_CHAT_ID)
    sim.send_text(STAFF_ID, f"/contact {number}", chat_id=STAFF_CHAT_ID)
    await answer_prompt(depts, STAFF_ID, STAFF_CHAT_ID, "回访核实办理情况")
    shown = await expect(sim, STAFF_CHAT_ID, lambda m: "反映人：张阿姨" in m["text"], after=since)
    assert "回访核实办理情况" in shown["text"]
    assert await reveals(depts, number) == [(STAFF_ID, Role.DISPATCHER, "回访核实办理情况")]


# --- 保密 with one tap under the acknowledgement --------------------------------------------

STRANGER = 4444


async def answered(stack: LocalStack, before: int) -> str:
    """Wait for the next answer to a button press after `before` answers; return its text."""
    await stack.sim.wait_until(lambda: len(stack.sim.callback_answers) > before)
    return str(stack.sim.callback_answers[before]["text"])


async def tap(stack: LocalStack, user_id: int, message: dict[str, Any], label: str) -> str:
    """Press `label` on a message as `user_id`; return the answer shown to them."""
    before = len(stack.sim.callback_answers)
    press(stack, user_id, message, label)
    return await answered(stack, before)


async def ack_now(stack: LocalStack, ack: dict[str, Any], *labels: str) -> dict[str, Any]:
    """The acknowledgement once it carries exactly the buttons `labels`."""
    return await expect(
        stack.sim,
        RESIDENT_ID,
        lambda m: m["message_id"] == ack["message_id"] and set(buttons(m)) == set(labels),
    )


async def confidential_events(stack: LocalStack, number: str) -> list[tuple[str, str, int]]:
    """The ticket's 保密 audit rows: (what, role, who)."""
    ticket = await the_ticket(stack, number)
    assert stack.runtime is not None
    async with stack.runtime.services.sessions() as s:
        rows = await s.execute(
            select(TicketEvent.action, TicketEvent.role, TicketEvent.actor_id)
            .where(
                TicketEvent.ticket_id == ticket.id,
                TicketEvent.action.in_([EventKind.CONFIDENTIAL, EventKind.NOT_CONFIDENTIAL]),
            )
            .order_by(TicketEvent.id)
        )
        return [(str(a), str(r), w or 0) for a, r, w in rows.all()]


async def test_one_tap_makes_a_report_confidential_and_only_the_dispatch_chat_reveals(
    depts: LocalStack,  # noqa: F811
) -> None:
    sim = depts.sim
    number = await report(depts, RESIDENT_ID, GARBAGE)
    ack = await expect(sim, RESIDENT_ID, lambda m: f"工单编号：{number}" in m["text"])
    assert set(buttons(ack)) == {"🔒 保密处理"} and "保密" not in ack["text"]
    card = await card_in(depts, CG_CHAT, number)
    assert "联系方式" in buttons(card)

    assert await tap(depts, RESIDENT_ID, ack, "🔒 保密处理") == (
        "已为您保密：承办部门看不到您的身份，只有总平台可以查看。"
    )
    ack = await ack_now(depts, ack, "取消保密")
    assert "已按您的要求保密：只有总平台可查看您的身份" in ack["text"]
    assert f"工单编号：{number}" in ack["text"]
    assert (await the_ticket(depts, number)).confidential
    assert await confidential_events(depts, number) == [("confidential", "reporter", RESIDENT_ID)]
    # The card says so, and the department's has no 联系方式 any more.
    card = await card_in(depts, CG_CHAT, number, "反映人要求保密")
    assert "联系方式" not in buttons(card)

    # The department asks anyway: refused, nothing revealed, nothing recorded.
    since = mark(sim, CG_CHAT)
    sim.send_text(CG_ID, f"/contact {number}", chat_id=CG_CHAT)
    await expect(sim, CG_CHAT, lambda m: "只有总平台可以查看" in m["text"], after=since)
    assert await reveals(depts, number) == []
    # The dispatch chat may, with a reason on the record.
    since = mark(sim, STAFF_CHAT_ID)
    sim.send_text(STAFF_ID, f"/contact {number}", chat_id=STAFF_CHAT_ID)
    await answer_prompt(depts, STAFF_ID, STAFF_CHAT_ID, "核实燃气隐患位置")
    shown = await expect(sim, STAFF_CHAT_ID, lambda m: "反映人：张阿姨" in m["text"], after=since)
    assert "核实燃气隐患位置" in shown["text"]
    assert await reveals(depts, number) == [(STAFF_ID, Role.DISPATCHER, "核实燃气隐患位置")]
    # /ticket shows when the reporter asked for it.
    since = mark(sim, STAFF_CHAT_ID)
    sim.send_text(STAFF_ID, f"/ticket {number}", chat_id=STAFF_CHAT_ID)
    timeline = await expect(sim, STAFF_CHAT_ID, lambda m: "办理过程" in m["text"], after=since)
    assert "反映人要求保密" in timeline["text"]


async def test_forged_and_foreign_confidential_presses_are_refused(
    depts: LocalStack,  # noqa: F811
) -> None:
    sim = depts.sim
    number = await report(depts, RESIDENT_ID, GARBAGE)
    ack = await expect(sim, RESIDENT_ID, lambda m: f"工单编号：{number}" in m["text"])
    for forged in ("h:on:999999", "h:maybe:1", "h:on:01"):
        before = len(sim.callback_answers)
        sim.press_button(RESIDENT_ID, RESIDENT_ID, ack["message_id"], forged, force=True)
        assert await answered(depts, before) == "按钮无效或已过期。"
    # Another person's client sends the resident's button (Telegram would not show it to them).
    sim.add_user(STRANGER, "路人")
    query = {
        "id": sim.world.new_callback(RESIDENT_ID, ack["message_id"]),
        "from": {"id": STRANGER, "is_bot": False, "first_name": "路人"},
        "message": copy.deepcopy(ack),
        "chat_instance": sim.world.chat_instance(RESIDENT_ID),
        "data": buttons(ack)["🔒 保密处理"],
    }
    before = len(sim.callback_answers)
    sim.push_raw_update({"update_id": 900002, "callback_query": query})
    assert await answered(depts, before) == "只有反映人本人可以设置保密。"
    # Another resident's own ticket cannot be made confidential from here either.
    neighbour = await report(depts, NEIGHBOUR, "小区东门的垃圾桶满了好几天了，没人来清运")
    other = await the_ticket(depts, neighbour)
    before = len(sim.callback_answers)
    sim.press_button(RESIDENT_ID, RESIDENT_ID, ack["message_id"], f"h:on:{other.id}", force=True)
    assert await answered(depts, before) == "只有反映人本人可以设置保密。"
    assert not (await the_ticket(depts, number)).confidential
    assert not (await the_ticket(depts, neighbour)).confidential
    assert await confidential_events(depts, number) == []


async def test_confidential_can_be_taken_back_until_the_ticket_is_accepted(
    depts: LocalStack,  # noqa: F811
) -> None:
    sim = depts.sim
    number = await report(depts, RESIDENT_ID, GARBAGE)
    ack = await expect(sim, RESIDENT_ID, lambda m: f"工单编号：{number}" in m["text"])
    await tap(depts, RESIDENT_ID, ack, "🔒 保密处理")
    ack = await ack_now(depts, ack, "取消保密")
    assert await tap(depts, RESIDENT_ID, ack, "取消保密") == (
        "已取消保密：承办部门需要时可联系您（查看将记录在案）。"
    )
    ack = await ack_now(depts, ack, "🔒 保密处理")
    assert "已按您的要求保密" not in ack["text"]
    assert not (await the_ticket(depts, number)).confidential
    card = await card_in(depts, CG_CHAT, number)
    await sim.wait_until(lambda: "联系方式" in buttons(last_card(depts, number)))

    # Asked again, then the department accepts: from now on it stays confidential.
    await tap(depts, RESIDENT_ID, ack, "🔒 保密处理")
    ack = await ack_now(depts, ack, "取消保密")
    card = await card_in(depts, CG_CHAT, number, "反映人要求保密")
    press(depts, CG_ID, card, "受理")
    await sim.wait_until(lambda: "已受理" in last_card(depts, number)["text"])
    assert await tap(depts, RESIDENT_ID, ack, "取消保密") == "工单已受理，保密不能再取消。"
    await ack_now(depts, ack)  # the button that no longer applies goes
    ticket = await the_ticket(depts, number)
    assert ticket.confidential and ticket.status == Status.ACCEPTED
    assert await confidential_events(depts, number) == [
        ("confidential", "reporter", RESIDENT_ID),
        ("confidential_off", "reporter", RESIDENT_ID),
        ("confidential", "reporter", RESIDENT_ID),
    ]


def last_card(stack: LocalStack, number: str) -> dict[str, Any]:
    """The department chat's card of ticket `number`, as it reads now."""
    cards = [
        m for m in stack.sim.bot_messages(CG_CHAT) if f"【工单 {number}】" in m.get("text", "")
    ]
    assert cards
    return cards[-1]
