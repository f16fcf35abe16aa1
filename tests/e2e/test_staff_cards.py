"""One live card per ticket per chat, showing the current state, deadlines and flags."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot.services.supervision.sweeper import sweep
from bot.services.tickets import format_time
from bot.simulator.scene import tap_through
from bot.workdays import local_date
from tests.e2e.helpers import press, report, the_ticket
from tests.e2e.test_dispatch import (  # noqa: F401  (the fixture)
    CG_CHAT,
    CG_ID,
    GARBAGE,
    act,
    card_in,
    depts,
)
from tests.harness import (
    RESIDENT_ID,
    STAFF_CHAT_ID,
    STAFF_ID,
    LocalStack,
    buttons,
    expect,
    mark,
)

REPORT = "幸福小区3栋楼道的灯坏了一个星期了，晚上太黑了"


def cards_of(stack: LocalStack, chat_id: int, number: str) -> list[dict[str, Any]]:
    """Every card of the ticket in a chat, as the chat shows it now."""
    return [
        m
        for m in stack.sim.bot_messages(chat_id)
        if f"【工单 {number}】" in (m.get("text") or "")
    ]


async def resolve(stack: LocalStack, number: str, note: str) -> dict[str, Any]:
    """The staff member resolves the ticket from its live card; return the resident's notice."""
    sim = stack.sim
    card = await expect(
        sim, STAFF_CHAT_ID, lambda m: f"【工单 {number}】" in m["text"] and "办结" in buttons(m)
    )
    since = mark(sim, STAFF_CHAT_ID)
    press(stack, STAFF_ID, card, "办结")
    prompt = await expect(sim, STAFF_CHAT_ID, lambda m: "请回复工单" in m["text"], after=since)
    seen = mark(sim, RESIDENT_ID)
    sim.send_text(STAFF_ID, note, chat_id=STAFF_CHAT_ID, reply_to_message_id=prompt["message_id"])
    return await expect(sim, RESIDENT_ID, lambda m: note in m["text"], after=seen)


async def test_dissatisfied_leaves_one_live_card(stack: LocalStack) -> None:
    sim = stack.sim
    sim.add_user(RESIDENT_ID, "张阿姨")
    number = await report(stack, RESIDENT_ID, REPORT)
    notice = await resolve(stack, number, "已更换灯泡")
    since = mark(sim, STAFF_CHAT_ID)
    await tap_through(sim, RESIDENT_ID, notice, "联系过", "部分解决", "不满意")
    fresh = await expect(
        sim, STAFF_CHAT_ID, lambda m: "🔁重办" in m["text"] and number in m["text"], after=since
    )
    assert "受理" in buttons(fresh)
    await sim.wait_until(
        lambda: sum(bool(buttons(c)) for c in cards_of(stack, STAFF_CHAT_ID, number)) == 1,
        timeout=10,
    )
    [old] = [
        c for c in cards_of(stack, STAFF_CHAT_ID, number) if c["message_id"] != fresh["message_id"]
    ]
    assert buttons(old) == {} and "此卡片已停用" in old["text"]
    # Acting on the live card edits it, and only it.
    press(stack, STAFF_ID, fresh, "受理")
    await expect(
        sim,
        STAFF_CHAT_ID,
        lambda m: m["message_id"] == fresh["message_id"] and "重办中" not in m["text"]
        and "已受理" in m["text"],
    )
    [old] = [c for c in cards_of(stack, STAFF_CHAT_ID, number) if "此卡片已停用" in c["text"]]
    assert buttons(old) == {}


async def test_unreachable_reporter_is_flagged_on_the_card(stack: LocalStack) -> None:
    sim = stack.sim
    sim.add_user(RESIDENT_ID, "张阿姨")
    number = await report(stack, RESIDENT_ID, REPORT)
    card = await expect(sim, STAFF_CHAT_ID, lambda m: number in m["text"])
    sim.block(RESIDENT_ID)
    press(stack, STAFF_ID, card, "受理")
    await expect(
        sim,
        STAFF_CHAT_ID,
        lambda m: m["message_id"] == card["message_id"] and "无法私信通知反映人" in m["text"],
    )
    assert (await the_ticket(stack, number)).reporter_unreachable


async def test_approved_extension_keeps_the_acceptance_time(
    depts: LocalStack,  # noqa: F811
) -> None:
    sim = depts.sim
    number = await report(depts, RESIDENT_ID, GARBAGE)
    card = await card_in(depts, CG_CHAT, number)
    press(depts, CG_ID, card, "受理")
    card = await card_in(depts, CG_CHAT, number, "已受理")
    before = await the_ticket(depts, number)
    assert depts.runtime is not None
    calendar = depts.runtime.services.calendar
    day_off = local_date(before.deadline_at) + timedelta(days=1)
    while calendar.is_workday(day_off):
        day_off += timedelta(days=1)
    # A day off is never promised: the request is refused with a working day to use instead.
    await act(depts, CG_ID, card, "申请延期", "延期至日期", f"{day_off:%Y-%m-%d} 需协调环卫公司")
    await expect(sim, CG_CHAT, lambda m: f"{day_off:%Y-%m-%d} 不是工作日" in m["text"])
    assert (await the_ticket(depts, number)).extension_to is None
    new_day = local_date(before.deadline_at) + timedelta(days=7)
    while not calendar.is_workday(new_day):
        new_day += timedelta(days=1)
    await act(depts, CG_ID, card, "申请延期", "延期至日期", f"{new_day:%Y-%m-%d} 需协调环卫公司")
    request = await expect(
        sim, STAFF_CHAT_ID, lambda m: "【延期申请】" in m["text"] and bool(buttons(m))
    )
    press(depts, STAFF_ID, request, "同意延期")
    await expect(sim, CG_CHAT, lambda m: "延期申请已批准" in m["text"])
    after = await the_ticket(depts, number)
    assert after.accept_by == before.accept_by  # not the moment of the approval
    assert local_date(after.deadline_at) == new_day
    card = await card_in(
        depts, CG_CHAT, number, f"办结时限：{format_time(after.deadline_at)}", "已批准延期"
    )
    assert f"受理时限：{format_time(before.accept_by)}" in card["text"]
    assert f"原办结时限 {format_time(before.deadline_at)}" in card["text"]


async def test_overdue_flag_then_rating_after_autoclose(stack: LocalStack) -> None:
    sim = stack.sim
    assert stack.runtime is not None
    services = stack.runtime.services
    sim.add_user(RESIDENT_ID, "张阿姨")
    number = await report(stack, RESIDENT_ID, REPORT)
    ticket = await the_ticket(stack, number)
    real_clock = services.clock
    try:
        # Past the deadline: 督办, and the card says it is overdue.
        late = ticket.deadline_at + timedelta(minutes=5)
        services.clock = lambda: late
        await sweep(services)
        await expect(
            sim, STAFF_CHAT_ID, lambda m: "⚠️超期" in m["text"] and number in m["text"]
        )
        notice = await resolve(stack, number, "已更换灯泡")
        # Seven days without a rating: closed as 未评价; a press then says the period ended.
        resolved = (await the_ticket(stack, number)).resolved_at or late
        for days in (4, 8):
            moment = resolved + timedelta(days=days)
            services.clock = lambda moment=moment: moment  # type: ignore[misc]
            await sweep(services)
        await expect(sim, RESIDENT_ID, lambda m: "按「未评价」结单" in m["text"])
        answered = len(sim.callback_answers)
        press(stack, RESIDENT_ID, notice, "联系过")  # the 回访's first question, still shown
        await sim.wait_until(lambda: len(sim.callback_answers) > answered)
        assert "评价期已结束" in sim.callback_answers[-1]["text"]
        assert "已经评价过" not in sim.callback_answers[-1]["text"]
    finally:
        services.clock = real_clock
