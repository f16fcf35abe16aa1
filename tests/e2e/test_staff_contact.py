"""Contact when needed, on the record: a reason before the reporter's name, audited, 保密."""

from __future__ import annotations

from sqlalchemy import select

from bot.domain import EventKind, Role
from storage.models import TicketEvent
from tests.e2e.helpers import press, report, the_ticket
from tests.e2e.test_dispatch import (  # noqa: F401  (the fixture)
    CG_CHAT,
    CG_ID,
    GARBAGE,
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
        lambda m: "原因（将记录在案）" in m["text"]
        and m.get("entities", [{}])[0].get("user", {}).get("id") == user_id,
    )
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
    assert await reveals(depts, number) == [
        (CG_ID, Role.STAFF, "需要上门核实垃圾堆放的具体位置")
    ]
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
    shown = await expect(
        sim, STAFF_CHAT_ID, lambda m: "反映人：张阿姨" in m["text"], after=since
    )
    assert "回访核实办理情况" in shown["text"]
    assert await reveals(depts, number) == [(STAFF_ID, Role.DISPATCHER, "回访核实办理情况")]
