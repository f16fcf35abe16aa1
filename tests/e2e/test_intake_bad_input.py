"""Bad input the intake audit found: edits, outsized callback data, names a database refuses,
messages without a sender, double clicks, reports beyond the limit."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from bot import texts
from nlp import Extractor
from storage.models import InboxUpdate, TicketEvent, User
from tests.e2e.helpers import press, report, texts_in, the_ticket, ticket_count
from tests.harness import ADMIN_ID, RESIDENT_ID, STAFF_CHAT_ID, STAFF_ID, LocalStack, expect

REPORT = "幸福小区3栋楼道的灯坏了一个星期了，晚上漆黑一片"


@pytest.fixture
async def both(database_url: str, extractor: Extractor) -> AsyncIterator[LocalStack]:
    """The running bot on SQLite and on PostgreSQL (where NUL and big numbers used to fail)."""
    async with LocalStack(database_url=database_url, extractor=extractor, migrate=False) as s:
        await s.setup_staff()
        yield s


def troubles(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Errors logged, and anything the intake had to say (a failed or retried update)."""
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.ERROR or (r.name == "huiyin.intake" and r.levelno >= logging.INFO)
    ]


async def inbox_statuses(stack: LocalStack) -> list[str]:
    """The status of every stored update."""
    assert stack.runtime is not None
    async with stack.runtime.services.sessions() as s:
        return list((await s.execute(select(InboxUpdate.status))).scalars())


async def test_an_edit_that_now_describes_a_problem_is_filed_and_acknowledged(
    stack: LocalStack,
) -> None:
    sim = stack.sim
    sim.add_user(RESIDENT_ID, "张阿姨")
    hello = sim.send_text(RESIDENT_ID, "你好")
    await expect(sim, RESIDENT_ID, lambda m: "直接把情况发给我" in m["text"])
    sim.edit_text(RESIDENT_ID, RESIDENT_ID, hello["message_id"], REPORT)
    ack = await expect(sim, RESIDENT_ID, lambda m: "工单编号：" in m["text"])
    number = str(ack["text"]).split("工单编号：", 1)[1].split()[0]
    await expect(sim, STAFF_CHAT_ID, lambda m: number in m.get("text", ""))
    assert (await the_ticket(stack, number)).text == REPORT


async def test_an_edit_of_a_reported_message_is_added_to_its_ticket_and_staff_are_told(
    stack: LocalStack,
) -> None:
    sim = stack.sim
    sim.add_user(RESIDENT_ID, "张阿姨")
    number = await report(stack, RESIDENT_ID, REPORT)
    sent = next(m for _, m in reversed(sim.feed) if m.get("text") == REPORT)
    sim.edit_text(RESIDENT_ID, RESIDENT_ID, sent["message_id"], REPORT + "，在2单元门口")
    await expect(sim, RESIDENT_ID, lambda m: "补充" in m["text"] and number in m["text"])
    told = await expect(sim, STAFF_CHAT_ID, lambda m: "反映人补充" in m.get("text", ""))
    assert number in told["text"] and "2单元门口" in told["text"]
    ticket = await the_ticket(stack, number)
    assert stack.runtime is not None
    async with stack.runtime.services.sessions() as s:
        kinds = (
            (await s.execute(select(TicketEvent.action).where(TicketEvent.ticket_id == ticket.id)))
            .scalars()
            .all()
        )
    assert "supplement" in kinds
    assert await ticket_count(stack) == 1


@pytest.mark.parametrize(
    "data",
    [
        "t:accept:99999999999999999999999999999",
        "t:resolve:9223372036854775808",
        "r:99999999999999999999:0:satisfied",
        "r:1:99999999999:satisfied",
        "g:yes:18446744073709551616",
        "t:accept:１２",  # full-width digits
        "t:accept:²",
    ],
)
async def test_numbers_no_column_holds_get_an_answered_button(
    both: LocalStack, data: str, caplog: pytest.LogCaptureFixture
) -> None:
    stack = both
    sim = stack.sim
    sim.add_user(RESIDENT_ID, "张阿姨")
    number = await report(stack, RESIDENT_ID, REPORT)
    card = await expect(sim, STAFF_CHAT_ID, lambda m: number in m.get("text", ""))
    before = len(sim.callback_answers)
    with caplog.at_level(logging.WARNING):
        sim.press_button(STAFF_ID, STAFF_CHAT_ID, card["message_id"], data, force=True)
        await sim.wait_until(lambda: len(sim.callback_answers) > before)
    assert sim.callback_answers[-1]["text"] == texts.ALERT_INVALID
    assert not troubles(caplog)


@pytest.mark.parametrize("name", ["张\x00阿姨", "阿姨\ud800", "\udfff", "\x00"])
async def test_a_name_with_nul_or_lone_surrogates_still_files_its_report(
    both: LocalStack, name: str
) -> None:
    stack = both
    sim = stack.sim
    sim.add_user(RESIDENT_ID, name)
    await report(stack, RESIDENT_ID, REPORT)
    assert stack.runtime is not None
    async with stack.runtime.services.sessions() as s:
        user = await s.get(User, RESIDENT_ID)
    assert user is not None and "\x00" not in user.first_name
    user.first_name.encode("utf-8")  # raises on a lone surrogate
    assert set(await inbox_statuses(stack)) == {"done"}


async def test_a_message_without_a_sender_gets_a_clear_answer_and_no_traceback(
    stack: LocalStack, caplog: pytest.LogCaptureFixture
) -> None:
    sim = stack.sim
    group = -1005550000001
    sim.add_group(group, "某小区群")
    base = {
        "date": 1,
        "chat": {"id": group, "type": "supergroup", "title": "某小区群"},
        "sender_chat": {"id": group, "type": "supergroup", "title": "某小区群"},
    }
    with caplog.at_level(logging.WARNING):
        sim.push_raw_update(
            {
                "update_id": 9001,
                "message": {
                    **base,
                    "message_id": 71,
                    "text": "/bind_grid 幸福社区",
                    "entities": [{"type": "bot_command", "offset": 0, "length": 10}],
                },
            }
        )
        sim.push_raw_update(
            {
                "update_id": 9002,
                "message": {**base, "message_id": 72, "text": "楼道的灯坏了很久了"},
            }
        )
        await expect(sim, group, lambda m: m["text"] == texts.ANONYMOUS_SENDER)
        sim.add_user(ADMIN_ID, "王主任")
        sim.send_text(ADMIN_ID, "/my")
        await expect(sim, ADMIN_ID, lambda m: "工单" in m["text"])
    assert set(await inbox_statuses(stack)) == {"done"}
    assert not troubles(caplog)
    assert len(texts_in(stack, group)) == 1


async def test_double_clicking_resolve_asks_once_and_answers_both_presses(
    stack: LocalStack, caplog: pytest.LogCaptureFixture
) -> None:
    sim = stack.sim
    sim.add_user(RESIDENT_ID, "张阿姨")
    number = await report(stack, RESIDENT_ID, REPORT)
    card = await expect(sim, STAFF_CHAT_ID, lambda m: number in m.get("text", ""))
    press(stack, STAFF_ID, card, "受理")
    card = await expect(
        sim, STAFF_CHAT_ID, lambda m: number in m.get("text", "") and "办结" in str(m), timeout=10
    )
    before = len(sim.callback_answers)
    with caplog.at_level(logging.WARNING):
        press(stack, STAFF_ID, card, "办结")
        press(stack, STAFF_ID, card, "办结")
        await sim.wait_until(lambda: len(sim.callback_answers) == before + 2)
        await expect(sim, STAFF_CHAT_ID, lambda m: "的办理结果" in m["text"])
    questions = [t for t in texts_in(stack, STAFF_CHAT_ID) if "的办理结果" in t]
    assert len(questions) == 1, questions
    assert not troubles(caplog)


async def test_a_report_beyond_the_limit_is_filed_cut_and_the_resident_is_told(
    stack: LocalStack,
) -> None:
    assert stack.runtime is not None
    stack.runtime.services.max_text_length = 200
    stack.sim.add_user(RESIDENT_ID, "张阿姨")
    number = await report(stack, RESIDENT_ID, REPORT + "。" + "灯一直不亮" * 60)
    ack = [t for t in texts_in(stack, RESIDENT_ID) if number in t][-1]
    assert texts.TOO_LONG.format(limit=200) in ack
    assert len((await the_ticket(stack, number)).text) == 200
