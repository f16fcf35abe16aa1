"""Deadlines running into a year the holiday data does not know yet (2027), end to end."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bot.services.handling import extension
from bot.services.supervision.calendar_notice import announce_missing_years
from bot.simulator.scene import tap_through
from bot.statutory import statutory_days_off
from bot.workdays import local_date
from tests.e2e.helpers import press, texts_in, the_ticket
from tests.harness import (
    RESIDENT_ID,
    STAFF_CHAT_ID,
    STAFF_ID,
    LocalStack,
    buttons,
    expect,
    mark,
)

GARBAGE = "小区门口垃圾堆了好几天没人清理，臭气熏天"  # 投诉 一般: 1 + 20 working days


async def file(stack: LocalStack, text: str) -> tuple[str, str]:
    """Report as the resident; return the ticket number and the acknowledgement."""
    since = mark(stack.sim, RESIDENT_ID)
    stack.sim.send_text(RESIDENT_ID, text)
    ack = await expect(stack.sim, RESIDENT_ID, lambda m: "工单编号：" in m["text"], after=since)
    return str(ack["text"]).split("工单编号：", 1)[1].split()[0], str(ack["text"])


def frozen(stack: LocalStack, at: datetime) -> None:
    """Stop the services' clock at `at`."""
    assert stack.runtime is not None
    stack.runtime.services.clock = lambda: at


async def test_no_deadline_lands_on_a_2027_statutory_holiday(stack: LocalStack) -> None:
    assert stack.runtime is not None
    services = stack.runtime.services
    stack.sim.add_user(RESIDENT_ID, "张阿姨")
    holidays = set(statutory_days_off(2027))

    # Friday 2026-12-04 10:00 Beijing: day 20 would be 元旦 on the weekday rule alone.
    frozen(stack, datetime(2026, 12, 4, 2, 0, tzinfo=UTC))
    first, ack = await file(stack, GARBAGE)
    assert "承诺办结时限：2027年1月4日（周一）24:00前" in ack
    ticket = await the_ticket(stack, first)
    assert local_date(ticket.deadline_at).isoformat() == "2027-01-04"
    # The extension cap counts 30 working days past it, skipping 春节 2027-02-05..08.
    question = extension.question(services, ticket)
    assert "最晚可延至 2027-02-17 23:59" in question

    # Friday 2027-01-29: the 20 working days run across 春节 (除夕 02-05 to 初三 02-08).
    frozen(stack, datetime(2027, 1, 29, 2, 0, tzinfo=UTC))
    second, ack = await file(stack, "小区东门的垃圾桶满了好几天了，没人来清运")
    assert "承诺办结时限：2027年3月2日（周二）24:00前" in ack
    ticket = await the_ticket(stack, second)
    promised = [ticket.accept_by, ticket.deadline_at, ticket.remind_at, ticket.escalate_at]
    assert all(m is not None and local_date(m) not in holidays for m in promised)
    assert local_date(ticket.accept_by).isoformat() == "2027-02-01"

    # The operators hear it once, in the dispatch chat; not again on the next pass.
    assert await announce_missing_years(services) == 1
    notice = await expect(stack.sim, STAFF_CHAT_ID, lambda m: "2027 年的放假调休" in m["text"])
    assert "HUIYIN_HOLIDAYS_FILE" in notice["text"]
    assert await announce_missing_years(services) == 0
    assert sum("2027 年的放假调休" in t for t in texts_in(stack, STAFF_CHAT_ID)) == 1


# 紧急: 24 hours of the clock, but the promise never names a statutory holiday: a deadline
# landing on one is carried to the same time of the first day after it.
URGENT_CASES = [
    # filed (Beijing time, as UTC), the report, the promise the resident reads, the card's
    (
        datetime(2026, 12, 4, 2, tzinfo=UTC),
        "燃气泄漏了，闻到很大的煤气味，3栋2单元",
        "2026年12月5日（周六）10:00前",
        "2026-12-05 10:00",
    ),
    (
        datetime(2027, 1, 29, 2, tzinfo=UTC),
        "5号楼楼道里燃气泄漏，煤气味很重，赶紧来人",
        "2027年1月30日（周六）10:00前",
        "2027-01-30 10:00",
    ),
    # the hours before 元旦: 24 hours would end on 2027-01-01
    (
        datetime(2026, 12, 31, 2, tzinfo=UTC),
        "小区电梯困人了，里面有老人，快来人",
        "2027年1月2日（周六）10:00前",
        "2027-01-02 10:00",
    ),
    (
        datetime(2026, 12, 31, 15, 30, tzinfo=UTC),
        "8栋配电箱冒烟起火了，太危险了",
        "2027年1月2日（周六）23:30前",
        "2027-01-02 23:30",
    ),
    # the hours before 春节 (除夕 02-05 to 初三 02-08) and 国庆 (10-01..03)
    (
        datetime(2027, 2, 4, 10, tzinfo=UTC),
        "地下室水管爆了，水漫出来了，很危险",
        "2027年2月9日（周二）18:00前",
        "2027-02-09 18:00",
    ),
    (
        datetime(2027, 9, 30, 0, tzinfo=UTC),
        "路边电线掉下来了，有人触电危险",
        "2027年10月4日（周一）08:00前",
        "2027-10-04 08:00",
    ),
]


async def test_urgent_promises_skip_2027_statutory_holidays(stack: LocalStack) -> None:
    assert stack.runtime is not None
    services = stack.runtime.services
    stack.sim.add_user(RESIDENT_ID, "张阿姨")
    statutory = {
        **statutory_days_off(2026),
        **statutory_days_off(2027),
    }
    numbers: dict[str, str] = {}
    for filed, text, promise, on_card in URGENT_CASES:
        frozen(stack, filed)
        number, ack = await file(stack, text)
        assert "紧急程度：紧急" in ack
        assert f"承诺办结时限：{promise}" in ack, ack

        def its_card(m: dict[str, Any], n: str = number) -> bool:
            return n in m["text"]

        card = await expect(stack.sim, STAFF_CHAT_ID, its_card)
        assert f"办结时限：{on_card}" in card["text"]
        ticket = await the_ticket(stack, number)
        assert local_date(ticket.deadline_at) not in statutory
        assert ticket.base_deadline_at == ticket.deadline_at
        # 签收 stays 2 hours of the clock: an emergency is taken on at once, holiday or not.
        assert ticket.accept_by == filed + timedelta(hours=2)
        numbers[promise] = number

    # The extension cap of the 元旦 ticket counts 30 working days from its carried deadline,
    # around 春节: 2027-02-16.
    ticket = await the_ticket(stack, numbers["2027年1月2日（周六）10:00前"])
    question = extension.question(services, ticket)
    assert "当前时限 2027-01-02 10:00，最晚可延至 2027-02-16 23:59" in question


async def test_a_reopened_deadline_skips_春节_in_2027(stack: LocalStack) -> None:
    sim = stack.sim
    sim.add_user(RESIDENT_ID, "张阿姨")
    frozen(stack, datetime(2027, 1, 21, 2, tzinfo=UTC))
    number, _ = await file(stack, "小区东门的井盖丢了，很危险，有老人差点掉下去")
    card = await expect(sim, STAFF_CHAT_ID, lambda m: number in m["text"] and "受理" in buttons(m))
    press(stack, STAFF_ID, card, "受理")
    card = await expect(sim, STAFF_CHAT_ID, lambda m: number in m["text"] and "办结" in buttons(m))
    press(stack, STAFF_ID, card, "办结")
    prompt = await expect(sim, STAFF_CHAT_ID, lambda m: "请回复工单" in m["text"])
    sim.send_text(
        STAFF_ID, "已补装井盖", chat_id=STAFF_CHAT_ID, reply_to_message_id=prompt["message_id"]
    )
    notice = await expect(sim, RESIDENT_ID, lambda m: "已补装井盖" in m["text"])

    # 不满意 on Friday 2027-01-22: 10 working days run across 春节 (02-05 and 02-08 are off).
    frozen(stack, datetime(2027, 1, 22, 2, tzinfo=UTC))
    since = mark(sim, STAFF_CHAT_ID)
    await tap_through(sim, RESIDENT_ID, notice, "没有联系", "未解决", "不满意")
    reopened = await expect(
        sim,
        STAFF_CHAT_ID,
        lambda m: number in m["text"] and "重办" in m["text"] and "办结时限" in m["text"],
        after=since,
    )
    assert "办结时限：2027-02-09 23:59" in reopened["text"]
    ticket = await the_ticket(stack, number)
    assert local_date(ticket.deadline_at).isoformat() == "2027-02-09"
