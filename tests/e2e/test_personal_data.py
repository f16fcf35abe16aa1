"""PIPL: /mydata sends residents their data, /forget and the retention pass de-identify."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from bot.domain import Status
from bot.services.administration import personal_data
from bot.simulator.scene import tap_through
from storage.models import (
    Followup,
    OutboxMessage,
    Ticket,
    TicketEvent,
    TicketRating,
    User,
    utcnow,
)
from tests.e2e.helpers import press, report, the_ticket
from tests.harness import RESIDENT_ID, STAFF_CHAT_ID, STAFF_ID, LocalStack, expect, mark

REPORT = "幸福小区3栋路灯坏了一周，我叫张秀兰，电话139-1234-5678，身份证110101199003074514"


async def _resolve_and_rate(stack: LocalStack, number: str) -> None:
    sim = stack.sim
    card = await expect(sim, STAFF_CHAT_ID, lambda m: number in m.get("text", ""))
    press(stack, STAFF_ID, card, "受理")
    card = await expect(
        sim, STAFF_CHAT_ID, lambda m: number in m["text"] and "已受理" in m["text"]
    )
    press(stack, STAFF_ID, card, "办结")
    prompt = await expect(sim, STAFF_CHAT_ID, lambda m: "请回复工单" in m["text"])
    await stack.recorded(prompt)
    sim.send_text(
        STAFF_ID, "已修复", chat_id=STAFF_CHAT_ID, reply_to_message_id=prompt["message_id"]
    )
    notice = await expect(sim, RESIDENT_ID, lambda m: "已修复" in m["text"])
    await tap_through(sim, RESIDENT_ID, notice, "联系过", "已解决", "满意")
    await expect(sim, RESIDENT_ID, lambda m: "感谢您的评价" in m["text"])


async def test_mydata_sends_the_resident_what_the_bot_holds(stack: LocalStack) -> None:
    sim = stack.sim
    sim.add_user(RESIDENT_ID, "张秀兰", username="xiulan")
    number = await report(stack, RESIDENT_ID, REPORT)
    since = mark(sim, RESIDENT_ID)
    sim.send_text(RESIDENT_ID, "/mydata")
    data = await expect(sim, RESIDENT_ID, lambda m: "个人数据" in m["text"], after=since)
    for needle in (str(RESIDENT_ID), "张秀兰", "@xiulan", number, "139-1234-5678", "/forget"):
        assert needle in data["text"], needle


async def test_forget_keeps_what_is_handled_and_deidentifies_the_rest(stack: LocalStack) -> None:
    sim = stack.sim
    sim.add_user(RESIDENT_ID, "张秀兰")
    number = await report(stack, RESIDENT_ID, REPORT)
    since = mark(sim, RESIDENT_ID)
    sim.send_text(RESIDENT_ID, "/forget")
    kept = await expect(sim, RESIDENT_ID, lambda m: "已删除" in m["text"], after=since)
    assert number in kept["text"] and "仍在办理中" in kept["text"] and "统计" in kept["text"]
    assert (await the_ticket(stack, number)).reporter_id == RESIDENT_ID

    await _resolve_and_rate(stack, number)
    since = mark(sim, RESIDENT_ID)
    sim.send_text(RESIDENT_ID, "/forget")
    done = await expect(sim, RESIDENT_ID, lambda m: "已删除 1 件" in m["text"], after=since)
    assert "仍在办理中" not in done["text"]
    ticket = await the_ticket(stack, number)
    assert ticket.reporter_id == personal_data.ANONYMOUS and ticket.reporter_name is None
    assert "1234" not in ticket.text and "19900307" not in ticket.text
    assert ticket.category and ticket.status == Status.CLOSED  # statistics stay
    assert stack.runtime is not None
    async with stack.runtime.services.sessions() as s:
        ratings = (await s.execute(select(TicketRating))).scalars().all()
        user = await s.get(User, RESIDENT_ID)
        actors = set((await s.execute(select(TicketEvent.actor_id))).scalars())
        answers = (await s.execute(select(Followup))).scalars().all()
    assert [r.score for r in ratings] == ["satisfied"] and ratings[0].rater_id != RESIDENT_ID
    # The 回访 answers lose the resident's id too, and keep the rating's stand-in (statistics).
    assert [a.rater_id for a in answers] == [ratings[0].rater_id]
    assert answers[0].contacted is True and answers[0].solved == "resolved"
    assert user is not None and user.first_name == "" and RESIDENT_ID not in actors


async def test_the_retention_pass_prunes_and_deidentifies(stack: LocalStack) -> None:
    sim = stack.sim
    sim.add_user(RESIDENT_ID, "张秀兰")
    number = await report(stack, RESIDENT_ID, REPORT)
    await _resolve_and_rate(stack, number)
    since = mark(sim, RESIDENT_ID)
    sim.send_text(RESIDENT_ID, "小区门口井盖丢了，电话13912345678")
    ack = await expect(sim, RESIDENT_ID, lambda m: "工单编号：" in m["text"], after=since)
    fresh = str(ack["text"]).split("工单编号：", 1)[1].split()[0]
    assert stack.runtime is not None
    services = stack.runtime.services
    old = utcnow() - timedelta(days=400)
    async with services.sessions.begin() as s:
        await s.execute(update(Ticket).where(Ticket.number == number).values(updated_at=old))
        sent = OutboxMessage.status != "pending"
        await s.execute(update(OutboxMessage).where(sent).values(created_at=old))
    done = await personal_data.prune(services, utcnow(), retention_days=365)
    assert done.tickets == 1 and done.outbox_rows > 0
    closed, open_ = await the_ticket(stack, number), await the_ticket(stack, fresh)
    assert closed.reporter_id == personal_data.ANONYMOUS and "1234" not in closed.text
    assert closed.category and closed.deadline_at and closed.status == Status.CLOSED
    assert open_.reporter_id == RESIDENT_ID and "13912345678" in open_.text
    async with services.sessions() as s:
        left = (await s.execute(select(OutboxMessage.created_at))).scalars().all()
    assert all(created > old for created in left)  # only old sent rows went
    again = await personal_data.prune(services, utcnow(), retention_days=365)
    assert again.tickets == 0 and again.outbox_rows == 0
