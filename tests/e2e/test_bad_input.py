"""Bad input gets a clear answer and loses nothing."""

from __future__ import annotations

import copy

import pytest

from bot.domain import Status
from bot.simulator.scene import tap_through
from tests.e2e.helpers import last_with, press, report, texts_in, the_ticket, ticket_count
from tests.harness import RESIDENT_ID, STAFF_CHAT_ID, STAFF_ID, LocalStack, buttons, expect

REPORT = "幸福小区3栋楼道的灯坏了一个星期了，晚上漆黑一片"
STRANGER = 4444


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("   ", "无法识别"),
        ("👍😀🎉", "直接把情况发给我"),
        ("\x00\x01\x02\x7f", "无法识别"),
        ("你好", "直接把情况发给我"),
    ],
)
async def test_text_that_is_not_a_report_gets_an_answer(
    stack: LocalStack, text: str, answer: str
) -> None:
    stack.sim.add_user(RESIDENT_ID, "张阿姨")
    stack.sim.send_text(RESIDENT_ID, text)
    await expect(stack.sim, RESIDENT_ID, lambda m: answer in m["text"])
    assert await ticket_count(stack) == 0


async def test_control_characters_inside_a_report_are_dropped(stack: LocalStack) -> None:
    stack.sim.add_user(RESIDENT_ID, "张阿姨")
    number = await report(stack, RESIDENT_ID, "幸福小区\x003栋\x07楼道的灯坏了\u200b很久了")
    ticket = await the_ticket(stack, number)
    assert "\x00" not in ticket.text and "\x07" not in ticket.text


async def test_a_4096_character_report_is_filed_and_the_card_fits(stack: LocalStack) -> None:
    stack.sim.add_user(RESIDENT_ID, "张阿姨")
    text = (REPORT + "。") * (4096 // (len(REPORT) + 1))
    text = text + "灯" * (4096 - len(text))
    assert len(text) == 4096
    number = await report(stack, RESIDENT_ID, text)
    card = await expect(stack.sim, STAFF_CHAT_ID, lambda m: number in m.get("text", ""))
    assert len(card["text"]) <= 4096 and "全文 4096 字" in card["text"]
    assert len((await the_ticket(stack, number)).text) == 4096


@pytest.mark.parametrize(
    "data",
    ["t:accept:999999", "t:explode:1", "t:accept:abc", "r:1:1:delicious", "r:x", "zzz", "r:1:1"],
)
async def test_forged_callback_data_is_refused(stack: LocalStack, data: str) -> None:
    sim = stack.sim
    sim.add_user(RESIDENT_ID, "张阿姨")
    number = await report(stack, RESIDENT_ID, REPORT)
    card = await expect(sim, STAFF_CHAT_ID, lambda m: number in m.get("text", ""))
    sim.press_button(STAFF_ID, STAFF_CHAT_ID, card["message_id"], data, force=True)
    await sim.wait_until(lambda: len(sim.callback_answers) == 1)
    answer = sim.callback_answers[0]
    assert answer.get("show_alert") in (True, "true", "True")
    assert answer["text"] in ("按钮无效或已过期。", "只有反映人本人可以评价此工单。")
    assert (await the_ticket(stack, number)).status == Status.NEW


async def test_a_stranger_pressing_staff_buttons_changes_nothing(stack: LocalStack) -> None:
    sim = stack.sim
    sim.add_user(RESIDENT_ID, "张阿姨")
    sim.add_user(STRANGER, "陌生人")
    number = await report(stack, RESIDENT_ID, REPORT)
    card = await expect(sim, STAFF_CHAT_ID, lambda m: number in m.get("text", ""))
    for label in ("受理", "办结", "退回"):
        press(stack, STRANGER, card, label)
    await sim.wait_until(lambda: len(sim.callback_answers) == 3)
    assert all(a["text"] == "只有登记的工作人员可以操作工单。" for a in sim.callback_answers)
    assert (await the_ticket(stack, number)).status == Status.NEW
    assert not [t for t in texts_in(stack, STAFF_CHAT_ID) if "请回复" in t]


async def _resolved(stack: LocalStack) -> tuple[str, dict[str, object]]:
    sim = stack.sim
    sim.add_user(RESIDENT_ID, "张阿姨")
    number = await report(stack, RESIDENT_ID, REPORT)
    card = await expect(sim, STAFF_CHAT_ID, lambda m: number in m.get("text", ""))
    press(stack, STAFF_ID, card, "办结")
    prompt = await expect(sim, STAFF_CHAT_ID, lambda m: "请回复工单" in m["text"])
    await stack.recorded(prompt)
    sim.send_text(
        STAFF_ID, "已修好", chat_id=STAFF_CHAT_ID, reply_to_message_id=prompt["message_id"]
    )
    notice = await expect(sim, RESIDENT_ID, lambda m: "已修好" in m["text"])
    return number, notice


async def test_someone_else_cannot_rate(stack: LocalStack) -> None:
    number, notice = await _resolved(stack)
    # A stranger cannot see the reporter's chat; they replay its callback data in their own.
    stack.sim.add_user(STRANGER, "陌生人")
    stack.sim.send_text(STRANGER, "/start")
    own = await expect(stack.sim, STRANGER, lambda m: "件件有回音" in m["text"])
    cb = buttons(notice)["联系过"]
    before = len(stack.sim.callback_answers)
    stack.sim.press_button(STRANGER, STRANGER, own["message_id"], cb, force=True)
    await stack.sim.wait_until(lambda: len(stack.sim.callback_answers) == before + 1)
    assert stack.sim.callback_answers[-1]["text"] == "只有反映人本人可以评价此工单。"
    assert (await the_ticket(stack, number)).status == Status.RESOLVED


async def test_stale_and_repeated_rating_presses(stack: LocalStack) -> None:
    number, notice = await _resolved(stack)
    first = buttons(notice)["联系过"]
    await tap_through(stack.sim, RESIDENT_ID, notice, "联系过", "已解决")
    asking = await expect(stack.sim, RESIDENT_ID, lambda m: "不满意" in buttons(m))
    before = len(stack.sim.callback_answers)
    press(stack, RESIDENT_ID, asking, "满意")
    await expect(stack.sim, RESIDENT_ID, lambda m: "感谢您的评价" in m["text"])
    # The same buttons pressed again (a stale keyboard on another device).
    for cb in (buttons(asking)["不满意"], first):
        stack.sim.press_button(
            RESIDENT_ID, RESIDENT_ID, int(str(notice["message_id"])), cb, force=True
        )
    await stack.sim.wait_until(lambda: len(stack.sim.callback_answers) == before + 3)
    assert [a["text"] for a in stack.sim.callback_answers[-2:]] == [
        "您已经评价过本次办理结果。"
    ] * 2
    assert (await the_ticket(stack, number)).status == Status.CLOSED


async def test_one_update_delivered_twice_opens_one_ticket(stack: LocalStack) -> None:
    sim = stack.sim
    sim.add_user(RESIDENT_ID, "张阿姨")
    number = await report(stack, RESIDENT_ID, REPORT)
    update = next(u for u in reversed(sim.delivered) if u.get("message", {}).get("text") == REPORT)
    sim.push_raw_update(copy.deepcopy(update))
    # The same message again under a new update_id (a resend after a timeout).
    again = copy.deepcopy(update)
    again["update_id"] = update["update_id"] + 1000
    sim.push_raw_update(again)
    sim.send_text(RESIDENT_ID, "/my")
    await expect(sim, RESIDENT_ID, lambda m: "您最近的工单" in m["text"])
    assert await ticket_count(stack) == 1
    acks = [t for t in texts_in(stack, RESIDENT_ID) if "工单编号：" in t]
    assert len(acks) == 1
    cards = [t for t in texts_in(stack, STAFF_CHAT_ID) if number in t]
    assert len(cards) == 1


async def test_a_duplicate_staff_press_is_refused_clearly(stack: LocalStack) -> None:
    sim = stack.sim
    sim.add_user(RESIDENT_ID, "张阿姨")
    number = await report(stack, RESIDENT_ID, REPORT)
    card = await expect(sim, STAFF_CHAT_ID, lambda m: number in m.get("text", ""))
    press(stack, STAFF_ID, card, "受理")
    press(stack, STAFF_ID, card, "受理")
    await sim.wait_until(lambda: len(sim.callback_answers) == 2)
    assert "已受理工单" in sim.callback_answers[0]["text"]
    assert "不能受理" in sim.callback_answers[1]["text"]
    accepted = [t for t in texts_in(stack, RESIDENT_ID) if "已受理" in t]
    await sim.wait_until(lambda: len([t for t in texts_in(stack, RESIDENT_ID) if "已受理" in t]))
    assert len(accepted) <= 1
    assert last_with(stack, STAFF_CHAT_ID, number)
