"""Deadlines running into a year the holiday data does not know yet (2027), end to end."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.domain import Action
from bot.services.handling import dispatch
from bot.services.supervision.calendar_notice import announce_missing_years
from bot.statutory import statutory_days_off
from bot.workdays import local_date
from tests.e2e.helpers import texts_in, the_ticket
from tests.harness import RESIDENT_ID, STAFF_CHAT_ID, LocalStack, expect, mark

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
    question = dispatch.prompt(services, ticket, Action.REQUEST_EXTENSION)
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
