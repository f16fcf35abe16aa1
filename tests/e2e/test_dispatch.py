"""Dispatch through the simulator: routing to department chats, 派单, 转派, 退单, 协办, 延期."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.domain import Status
from bot.workdays import local_date
from nlp import Extractor
from storage.models import TicketAssist, TicketEvent
from tests.e2e.helpers import press, report, the_ticket
from tests.harness import RESIDENT_ID, STAFF_CHAT_ID, STAFF_ID, LocalStack, buttons, expect, mark

CG_CHAT, CG_ID = -1002000000001, 1101  # 区城管委
RS_CHAT, RS_ID = -1002000000002, 1102  # 区人社局
CITY_CHAT, CITY_ID = -1002000000003, 1103  # 市城管委, above 区城管委
NEIGHBOUR = 2002

GARBAGE = "小区门口垃圾堆了好几天没人清理，臭气熏天"  # 城乡建设/城市建设和市政管理 → 区城管委
WAGES = "公司拖欠我三个月工资不给，老板跑了"  # 劳动和社会保障 → 区人社局
UNSORTED = "我要投诉，这个事情拖了好几个月也没人给个说法"  # no category (其他): no rule routes it


@pytest.fixture
async def depts(sqlite_url: str, extractor: Extractor) -> AsyncIterator[LocalStack]:
    """The bot with a dispatch chat and three department chats, one member of staff each."""
    async with LocalStack(
        database_url=sqlite_url, extractor=extractor, migrate=False, lease_seconds=2.0
    ) as s:
        await s.setup_staff()
        await s.setup_staff(CG_ID, CG_CHAT, "城管小赵", department="区城管委")
        await s.setup_staff(RS_ID, RS_CHAT, "人社小钱", department="区人力资源和社会保障局")
        await s.setup_staff(CITY_ID, CITY_CHAT, "市城管老孙", department="市城管委")
        s.sim.add_user(RESIDENT_ID, "张阿姨")
        s.sim.add_user(NEIGHBOUR, "李大爷")
        yield s


async def card_in(stack: LocalStack, chat_id: int, number: str, *has: str) -> dict[str, Any]:
    """The latest card of ticket `number` in a chat, once it shows every string in `has`."""
    return await expect(
        stack.sim,
        chat_id,
        lambda m: f"【工单 {number}】" in m.get("text", "") and all(h in m["text"] for h in has),
    )


async def act(
    stack: LocalStack, user_id: int, card: dict[str, Any], label: str, asks: str, text: str
) -> None:
    """Press `label` on a card, wait for the bot's question containing `asks`, answer it."""
    chat_id = card["chat"]["id"]
    since = mark(stack.sim, chat_id)
    press(stack, user_id, card, label)
    prompt = await expect(stack.sim, chat_id, lambda m: asks in m.get("text", ""), after=since)
    await stack.recorded(prompt)
    stack.sim.send_text(user_id, text, chat_id=chat_id, reply_to_message_id=prompt["message_id"])


async def trail(stack: LocalStack, number: str) -> list[tuple[str, str | None, str]]:
    """The audit trail of a ticket: (action, from, to)."""
    ticket = await the_ticket(stack, number)
    assert stack.runtime is not None
    async with stack.runtime.services.sessions() as s:
        rows = await s.execute(
            select(TicketEvent.action, TicketEvent.from_status, TicketEvent.to_status)
            .where(TicketEvent.ticket_id == ticket.id)
            .order_by(TicketEvent.id)
        )
        return [(a, f, t) for a, f, t in rows.all()]


async def test_new_tickets_go_to_their_departments_and_only_they_may_act(
    depts: LocalStack,
) -> None:
    sim = depts.sim
    garbage = await report(depts, RESIDENT_ID, GARBAGE)
    wages = await report(depts, NEIGHBOUR, WAGES)
    cg_card = await card_in(depts, CG_CHAT, garbage, "承办：区城市管理委员会")
    rs_card = await card_in(depts, RS_CHAT, wages, "承办：区人力资源和社会保障局")
    assert set(buttons(cg_card)) == {"受理", "办结", "退单", "转派", "提级", "改分类", "联系方式"}
    assert not [m for m in sim.bot_messages(STAFF_CHAT_ID) if garbage in (m.get("text") or "")]
    assert not [m for m in sim.bot_messages(RS_CHAT) if garbage in (m.get("text") or "")]

    # A member of 区人社局 presses 受理 on 区城管委's ticket: refused, nothing changes.
    before = len(sim.callback_answers)
    press(depts, RS_ID, cg_card, "受理")
    await sim.wait_until(lambda: len(sim.callback_answers) > before)
    refusal = sim.callback_answers[-1]
    assert "不由您所在的部门承办" in refusal["text"] and refusal.get("show_alert")
    assert (await the_ticket(depts, garbage)).status == Status.NEW

    since = mark(sim, NEIGHBOUR)
    press(depts, RS_ID, rs_card, "受理")
    await expect(sim, NEIGHBOUR, lambda m: "已受理" in m["text"], after=since)
    press(depts, CG_ID, cg_card, "受理")
    await expect(sim, RESIDENT_ID, lambda m: "已受理" in m["text"])
    assert [a for a, _, _ in await trail(depts, garbage)] == ["report", "accept"]


async def test_unrouted_ticket_is_dispatched_by_the_dispatcher(depts: LocalStack) -> None:
    number = await report(depts, RESIDENT_ID, UNSORTED)
    card = await card_in(depts, STAFF_CHAT_ID, number, "待派单")
    assert set(buttons(card)) == {"派单", "受理", "办结", "退回", "改分类", "联系方式"}
    # A department member cannot dispatch.
    press(depts, CG_ID, card, "派单")
    await depts.sim.wait_until(
        lambda: any(
            "不由您所在的部门" in (a.get("text") or "") for a in depts.sim.callback_answers
        ),
    )
    await act(depts, STAFF_ID, card, "派单", "派往的部门", "区城管委")
    await expect(depts.sim, STAFF_CHAT_ID, lambda m: "已派往区城市管理委员会" in m["text"])
    await card_in(depts, CG_CHAT, number, "待受理", "承办：区城市管理委员会")
    watched = await card_in(depts, STAFF_CHAT_ID, number, "承办：区城市管理委员会")
    assert buttons(watched) == {}  # the dispatch chat no longer holds it
    ticket = await the_ticket(depts, number)
    assert ticket.status == Status.NEW and ticket.department == "district_cg"
    assert (await trail(depts, number))[-1] == ("assign", "dispatching", "new")


async def test_transfer_then_send_back_then_dispatch_again(depts: LocalStack) -> None:
    sim = depts.sim
    number = await report(depts, RESIDENT_ID, GARBAGE)
    card = await card_in(depts, CG_CHAT, number)
    await act(depts, CG_ID, card, "转派", "转派部门", "区人社局")
    await expect(sim, CG_CHAT, lambda m: "写明原因" in m["text"])  # a reason is required
    assert (await the_ticket(depts, number)).department == "district_cg"

    await act(depts, CG_ID, card, "转派", "转派部门", "区人社局 涉及物业公司拖欠保洁工资")
    await expect(sim, RS_CHAT, lambda m: "由区城市管理委员会转派至本部门" in m["text"])
    rs_card = await card_in(depts, RS_CHAT, number, "承办：区人力资源和社会保障局")
    # The old department's card now only shows where the ticket went.
    old = await card_in(depts, CG_CHAT, number, "承办：区人力资源和社会保障局")
    assert buttons(old) == {}

    await act(depts, RS_ID, rs_card, "退单", "退回总平台的原因", "垃圾清运不属于人社部门职责")
    await expect(sim, STAFF_CHAT_ID, lambda m: "退回总平台（退单）" in m["text"])
    back = await card_in(depts, STAFF_CHAT_ID, number, "待派单")
    assert "派单" in buttons(back)
    await act(depts, STAFF_ID, back, "派单", "派往的部门", "区城市管理委员会")
    await card_in(depts, CG_CHAT, number, "待受理")
    assert [a for a, _, _ in await trail(depts, number)] == [
        "report",
        "transfer",
        "send_back",
        "assign",
    ]
    events = await trail(depts, number)
    assert events[2] == ("send_back", "new", "dispatching")


async def test_assist_extension_refused_then_approved_then_escalation(depts: LocalStack) -> None:
    sim = depts.sim
    number = await report(depts, RESIDENT_ID, GARBAGE)
    card = await card_in(depts, CG_CHAT, number)
    press(depts, CG_ID, card, "受理")
    card = await card_in(depts, CG_CHAT, number, "已受理")
    assert set(buttons(card)) == {
        "办结", "退单", "转派", "协办", "申请延期", "提级", "改分类", "联系方式"
    }

    # 协办: 区人社局 cooperates, 区城管委 keeps the lead.
    await act(depts, CG_ID, card, "协办", "协办部门", "区人社局")
    await expect(sim, RS_CHAT, lambda m: "请本部门协办工单" in m["text"])
    helper_card = await card_in(depts, RS_CHAT, number, "协办：区人力资源和社会保障局")
    assert buttons(helper_card) == {}
    ticket = await the_ticket(depts, number)
    assert ticket.department == "district_cg"
    assert depts.runtime is not None
    async with depts.runtime.services.sessions() as s:
        assists = (await s.execute(select(TicketAssist.department))).scalars().all()
    assert assists == ["district_rs"]

    # 申请延期, refused by the dispatcher: the deadline stands.
    deadline = ticket.deadline_at
    new_day = local_date(deadline) + timedelta(days=7)
    assert depts.runtime is not None
    while not depts.runtime.services.calendar.is_workday(new_day):  # days off are refused
        new_day += timedelta(days=1)
    await act(depts, CG_ID, card, "申请延期", "延期至日期", f"{new_day:%Y-%m-%d} 需协调环卫公司")
    request = await expect(sim, STAFF_CHAT_ID, lambda m: "【延期申请】" in m["text"])
    assert set(buttons(request)) == {"同意延期", "不同意"}
    assert (await the_ticket(depts, number)).status == Status.EXTENDING
    # A department member cannot approve their own request.
    press(depts, CG_ID, request, "同意延期")
    press(depts, STAFF_ID, request, "不同意")
    await expect(sim, CG_CHAT, lambda m: "延期申请未获批准" in m["text"])
    ticket = await the_ticket(depts, number)
    assert ticket.status == Status.ACCEPTED and ticket.deadline_at == deadline

    # 申请延期 again, approved: the new deadline, and the resident hears it.
    card = await card_in(depts, CG_CHAT, number, "已受理")
    await act(depts, CG_ID, card, "申请延期", "延期至日期", f"{new_day:%Y-%m-%d} 需协调环卫公司")
    request = await expect(
        sim, STAFF_CHAT_ID, lambda m: "【延期申请】" in m["text"] and bool(buttons(m))
    )
    assert len([m for m in sim.bot_messages(STAFF_CHAT_ID) if buttons(m)]) == 1
    press(depts, STAFF_ID, request, "同意延期")
    await expect(sim, CG_CHAT, lambda m: "延期申请已批准" in m["text"])
    await expect(sim, RESIDENT_ID, lambda m: "经批准延期办理" in m["text"])
    ticket = await the_ticket(depts, number)
    assert local_date(ticket.deadline_at) == new_day and ticket.status == Status.ACCEPTED

    # 提级: to 市城管委, which must 签收 it.
    card = await card_in(depts, CG_CHAT, number, "已受理")
    await act(depts, CG_ID, card, "提级", "提级至市城市管理委员会", "涉及全市环卫作业标准")
    city_card = await card_in(depts, CITY_CHAT, number, "承办：市城市管理委员会")
    assert "受理" in buttons(city_card)
    ticket = await the_ticket(depts, number)
    assert ticket.department == "city_cg" and ticket.escalations == 1
    assert ticket.status == Status.NEW
    actions = [a for a, _, _ in await trail(depts, number)]
    assert actions == [
        "report",
        "accept",
        "assist",
        "extend",
        "extend_no",
        "extend",
        "extend_ok",
        "escalate",
    ]


async def test_queue_overdue_and_ticket_timeline(depts: LocalStack) -> None:
    sim = depts.sim
    number = await report(depts, RESIDENT_ID, GARBAGE)
    card = await card_in(depts, CG_CHAT, number)
    press(depts, CG_ID, card, "受理")
    await card_in(depts, CG_CHAT, number, "已受理")
    sim.send_text(CG_ID, "/queue", chat_id=CG_CHAT)
    listing = await expect(sim, CG_CHAT, lambda m: "待办工单" in m["text"])
    assert "【区城市管理委员会】" in listing["text"] and f"{number}｜已受理" in listing["text"]
    sim.send_text(CG_ID, "/overdue", chat_id=CG_CHAT)
    await expect(sim, CG_CHAT, lambda m: "暂无超期工单" in m["text"])
    sim.send_text(CG_ID, f"/ticket {number}", chat_id=CG_CHAT)
    shown = await expect(sim, CG_CHAT, lambda m: "办理过程" in m["text"])
    assert "登记" in shown["text"] and "受理｜城管小赵（待受理→已受理）" in shown["text"]
    # Another department does not see it; the dispatch chat sees everything.
    sim.send_text(RS_ID, f"/ticket {number}", chat_id=RS_CHAT)
    await expect(sim, RS_CHAT, lambda m: "或该工单与本部门无关" in m["text"])
    sim.send_text(STAFF_ID, f"/ticket {number}", chat_id=STAFF_CHAT_ID)
    await expect(sim, STAFF_CHAT_ID, lambda m: "办理过程" in m["text"])
    sim.send_text(RS_ID, "/queue", chat_id=RS_CHAT)
    await expect(sim, RS_CHAT, lambda m: "暂无待办工单" in m["text"])


async def test_resolve_with_a_result_note_and_a_photo(depts: LocalStack) -> None:
    sim = depts.sim
    number = await report(depts, RESIDENT_ID, GARBAGE)
    card = await card_in(depts, CG_CHAT, number)
    since = mark(sim, CG_CHAT)
    press(depts, CG_ID, card, "办结")
    prompt = await expect(sim, CG_CHAT, lambda m: "办理结果" in m.get("text", ""), after=since)
    await depts.recorded(prompt)
    sim.send_photo(
        CG_ID,
        chat_id=CG_CHAT,
        caption="垃圾已全部清运，已安排每日巡查",
        reply_to_message_id=prompt["message_id"],
    )
    notice = await expect(sim, RESIDENT_ID, lambda m: "已全部清运" in m.get("text", ""))
    assert set(buttons(notice)) == {"联系过", "没有联系"}
    await expect(sim, RESIDENT_ID, lambda m: "photo" in m and "办理结果照片" in m["caption"])
    ticket = await the_ticket(depts, number)
    assert ticket.status == Status.RESOLVED and ticket.due_kind == "rate_remind"
