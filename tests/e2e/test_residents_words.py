"""Residents' own words: the one-tap question in private, corrections that re-route and teach,
urgent tickets, places, and the per-person limit in groups (issue 9, the bot's side)."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from bot.domain import Status
from bot.services.intake import group_prompts
from bot.services.tickets import format_time
from storage.models import Attachment, GroupPrompt, LabelledExample, Ticket, TicketEvent
from tests.e2e.helpers import last_with, press, report, texts_in, the_ticket, ticket_count
from tests.harness import (
    ADMIN_ID,
    RESIDENT_ID,
    STAFF_CHAT_ID,
    STAFF_ID,
    LocalStack,
    buttons,
    expect,
    mark,
)

UNSURE = "东门那边怎么回事"  # may be a problem, not clearly one
GARBAGE = "小区门口垃圾堆了好几天没人清理，臭气熏天"  # → 区城管委
GAS = "燃气泄漏了，闻到很大的煤气味，3栋2单元"  # 紧急, at 3栋2单元
CONFIDENT = "幸福小区3栋楼道的灯坏了一个星期了，晚上漆黑一片"
CG_CHAT, CG_ID = -1002000000011, 1101
ZJ_CHAT, ZJ_ID = -1002000000012, 1102
RS_CHAT, RS_ID = -1002000000013, 1103
SQ_CHAT, SQ_ID = -1002000000014, 1104
GRID, WORKER, NEIGHBOUR = -1002000000021, 5001, 5003
STRANGER = 4444


@pytest.fixture
async def depts(stack: LocalStack) -> AsyncIterator[LocalStack]:
    """The bot with the dispatch chat and three department chats, one member of staff each."""
    await stack.setup_staff(CG_ID, CG_CHAT, "城管小赵", department="区城管委")
    await stack.setup_staff(ZJ_ID, ZJ_CHAT, "住建小孙", department="区住房和城乡建设委员会")
    await stack.setup_staff(RS_ID, RS_CHAT, "人社小钱", department="区人力资源和社会保障局")
    stack.sim.add_user(RESIDENT_ID, "张阿姨")
    yield stack


@pytest.fixture
async def grid(stack: LocalStack) -> AsyncIterator[LocalStack]:
    """The bot with a bound grid group and one grid worker."""
    sim = stack.sim
    sim.add_group(GRID, "幸福社区第三网格群")
    for uid, name in ((WORKER, "网格员小刘"), (RESIDENT_ID, "张阿姨"), (NEIGHBOUR, "老李")):
        sim.add_user(uid, name)
    sim.send_text(ADMIN_ID, "/bind_grid 幸福社区第三网格", chat_id=GRID)
    await expect(sim, GRID, lambda m: "网格群「幸福社区第三网格」" in m["text"])
    hello = sim.send_text(WORKER, "我是本网格网格员小刘", chat_id=GRID)
    sim.send_text(ADMIN_ID, "/add_worker", chat_id=GRID, reply_to_message_id=hello["message_id"])
    await expect(sim, GRID, lambda m: "网格员" in m["text"] and "登记" in m["text"])
    yield stack


async def rows(stack: LocalStack, model: Any) -> list[Any]:
    """Every row of a table, in id order."""
    assert stack.runtime is not None
    async with stack.runtime.services.sessions() as s:
        return list((await s.execute(select(model).order_by(model.id))).scalars())


async def answered(stack: LocalStack, count: int) -> dict[str, Any]:
    """Wait for the `count`-th answer to a button press and return it."""
    await stack.sim.wait_until(lambda: len(stack.sim.callback_answers) >= count)
    return stack.sim.callback_answers[count - 1]


async def question(stack: LocalStack, text: str) -> dict[str, Any]:
    """Send `text` privately and return the bot's one-tap question about it."""
    stack.sim.send_text(RESIDENT_ID, text)
    return await expect(stack.sim, RESIDENT_ID, lambda m: "需要登记为诉求吗" in m["text"])


# --- Private chat never turns a resident away --------------------------------------------


async def test_an_unsure_message_gets_a_question_and_file_makes_the_same_ticket(
    depts: LocalStack,
) -> None:
    sim = depts.sim
    asked = await question(depts, UNSURE)
    assert set(buttons(asked)) == {"登记", "不用了"}
    assert "将按「" in asked["text"]  # the category the bot would use
    assert await ticket_count(depts) == 0
    press(depts, RESIDENT_ID, asked, "登记")
    ack = await expect(sim, RESIDENT_ID, lambda m: "工单编号：" in m["text"])
    assert "分类：" in ack["text"] and "承诺办结时限" in ack["text"]
    assert (await answered(depts, 1))["text"] == "已登记。"
    [ticket] = await rows(depts, Ticket)
    assert ticket.text == UNSURE and ticket.reporter_id == RESIDENT_ID
    assert ticket.number in ack["text"]
    # The question stays in the chat, its buttons gone.
    await sim.wait_until(lambda: not buttons(_message(depts, asked)))
    await expect(sim, STAFF_CHAT_ID, lambda m: ticket.number in m.get("text", ""))


async def test_file_on_a_captioned_photo_attaches_the_photo_as_a_confident_report_would(
    depts: LocalStack,
) -> None:
    sim = depts.sim
    sent = sim.send_photo(RESIDENT_ID, caption=UNSURE, data=b"\xff\xd8east-gate")
    file_id = str(sent["photo"][-1]["file_id"])
    asked = await expect(sim, RESIDENT_ID, lambda m: "需要登记为诉求吗" in m.get("text", ""))
    assert await ticket_count(depts) == 0
    press(depts, RESIDENT_ID, asked, "登记")
    ack = await expect(sim, RESIDENT_ID, lambda m: "工单编号：" in m.get("text", ""))
    [ticket] = await rows(depts, Ticket)
    assert ticket.text == UNSURE and ticket.number in ack["text"]
    # The photo is on the ticket, from the resident's own message; nothing to send again.
    [photo] = await rows(depts, Attachment)
    assert (photo.ticket_id, photo.kind, photo.file_id) == (ticket.id, "photo", file_id)
    assert photo.source_message_id == sent["message_id"]
    await expect(sim, RESIDENT_ID, lambda m: "照片已补充" in m.get("text", ""))
    # Staff get the photo captioned with the number and see it counted on the card.
    shown = await expect(
        sim, STAFF_CHAT_ID, lambda m: "photo" in m and ticket.number in (m.get("caption") or "")
    )
    assert shown["photo"][-1]["file_id"] == file_id
    await expect(sim, STAFF_CHAT_ID, lambda m: "附件：照片 1 张" in m.get("text", ""))
    events = [e.action.value for e in await rows(depts, TicketEvent)]
    assert "attach_photo" in events


async def test_no_thanks_answers_briefly_and_keeps_a_labelled_example(depts: LocalStack) -> None:
    asked = await question(depts, UNSURE)
    press(depts, RESIDENT_ID, asked, "不用了")
    assert "不登记" in (await answered(depts, 1))["text"]
    await expect(depts.sim, RESIDENT_ID, lambda m: "有需要反映的问题随时发给我" in m["text"])
    await depts.sim.wait_until(lambda: not buttons(_message(depts, asked)))
    assert await ticket_count(depts) == 0
    [example] = await rows(depts, LabelledExample)
    assert (example.source, example.channel, example.kind) == ("private_no", "private", "chatter")
    assert example.text == UNSURE and example.category == ""


async def test_pressing_twice_forged_data_and_another_user_get_clear_answers(
    depts: LocalStack,
) -> None:
    sim = depts.sim
    asked = await question(depts, UNSURE)
    data = buttons(asked)["登记"]
    press(depts, RESIDENT_ID, asked, "登记")
    await expect(sim, RESIDENT_ID, lambda m: "工单编号：" in m["text"])
    sim.press_button(RESIDENT_ID, RESIDENT_ID, asked["message_id"], data, force=True)
    assert (await answered(depts, 2))["text"] == "该询问已处理或已过期。"
    for n, forged in enumerate(("p:yes:999999", "p:yes:abc", "p:maybe:1"), start=3):
        sim.press_button(RESIDENT_ID, RESIDENT_ID, asked["message_id"], forged, force=True)
        assert (await answered(depts, n))["text"] == "按钮无效或已过期。"
    # Someone else's client sends the same callback (Telegram would not show them the button).
    sim.add_user(STRANGER, "路人")
    other = await question(depts, UNSURE + "？")
    query = {
        "id": sim.world.new_callback(RESIDENT_ID, other["message_id"]),
        "from": {"id": STRANGER, "is_bot": False, "first_name": "路人"},
        "message": copy.deepcopy(other),
        "chat_instance": sim.world.chat_instance(RESIDENT_ID),
        "data": buttons(other)["登记"],
    }
    sim.push_raw_update({"update_id": 900001, "callback_query": query})
    assert (await answered(depts, 6))["text"] == "只有提问的本人可以确认。"
    assert await ticket_count(depts) == 1


async def test_a_question_delivered_twice_is_asked_once(depts: LocalStack) -> None:
    sim = depts.sim
    await question(depts, UNSURE)
    update_ = next(
        u for u in reversed(sim.delivered) if u.get("message", {}).get("text") == UNSURE
    )
    again = copy.deepcopy(update_)
    again["update_id"] = update_["update_id"] + 1000
    sim.push_raw_update(again)
    sim.send_text(RESIDENT_ID, "/my")
    await expect(sim, RESIDENT_ID, lambda m: "还没有提交过工单" in m["text"])
    assert len([t for t in texts_in(depts, RESIDENT_ID) if "需要登记为诉求吗" in t]) == 1
    assert len(await rows(depts, GroupPrompt)) == 1


async def test_an_unanswered_question_expires(depts: LocalStack) -> None:
    sim = depts.sim
    asked = await question(depts, UNSURE)
    assert depts.runtime is not None
    services = depts.runtime.services
    async with services.sessions.begin() as s:
        await s.execute(
            update(GroupPrompt).values(expires_at=services.clock() - timedelta(seconds=1))
        )
    assert await group_prompts.expire_prompts(services) == 1
    await sim.wait_until(lambda: not buttons(_message(depts, asked)))
    sim.press_button(RESIDENT_ID, RESIDENT_ID, asked["message_id"], "p:yes:1", force=True)
    assert (await answered(depts, 1))["text"] == "该询问已处理或已过期。"
    assert await ticket_count(depts) == 0


@pytest.mark.parametrize("text", ["你好", "👍😀🎉"])
async def test_greetings_and_emoji_get_a_friendly_how_to(depts: LocalStack, text: str) -> None:
    depts.sim.send_text(RESIDENT_ID, text)
    await expect(depts.sim, RESIDENT_ID, lambda m: "直接把情况发给我" in m["text"])
    assert await ticket_count(depts) == 0 and not await rows(depts, GroupPrompt)


def _message(stack: LocalStack, message: dict[str, Any]) -> dict[str, Any]:
    """The current state of a bot message (after edits)."""
    chat = message["chat"]["id"]
    wanted = message["message_id"]
    return next(m for m in stack.sim.chat_messages(chat) if m["message_id"] == wanted)


# --- Right category, right department ------------------------------------------------------


async def card_in(stack: LocalStack, chat_id: int, number: str, *has: str) -> dict[str, Any]:
    """The latest card of ticket `number` in a chat, once it shows every string in `has`."""
    return await expect(
        stack.sim,
        chat_id,
        lambda m: f"【工单 {number}】" in m.get("text", "") and all(h in m["text"] for h in has),
    )


async def ask_category(stack: LocalStack, user_id: int, card: dict[str, Any]) -> dict[str, Any]:
    """Press 改分类 on a card and return the question with the offered categories."""
    chat_id = card["chat"]["id"]
    since = mark(stack.sim, chat_id)
    press(stack, user_id, card, "改分类")
    return await expect(stack.sim, chat_id, lambda m: "当前分类" in m["text"], after=since)


async def test_one_tap_on_a_next_best_guess_reroutes_the_ticket(depts: LocalStack) -> None:
    sim = depts.sim
    number = await report(depts, RESIDENT_ID, GARBAGE)
    ticket = await the_ticket(depts, number)
    assert ticket.department == "district_cg"
    offered = (ticket.category_choices or "").splitlines()
    assert offered[0] == ticket.category and len(offered) >= 2
    card = await card_in(depts, CG_CHAT, number)
    asked = await ask_category(depts, CG_ID, card)
    guess = next(c for c in offered[1:] if c.startswith("城乡建设/住房保障与房地产"))
    assert guess in buttons(asked) and ticket.category not in buttons(asked)
    press(depts, CG_ID, asked, guess)
    answer = await answered(depts, 2)
    assert "区住房和城乡建设委员会" in answer["text"]
    moved = await the_ticket(depts, number)
    assert (moved.category, moved.department, moved.status) == (guess, "district_zj", "new")
    # The old card shows the new category and holder, without buttons; the new holder has one.
    await sim.wait_until(
        lambda: guess in _message(depts, card)["text"] and not buttons(_message(depts, card))
    )
    new_card = await card_in(depts, ZJ_CHAT, number, guess)
    assert "受理" in buttons(new_card)
    await expect(sim, ZJ_CHAT, lambda m: "改由本部门承办" in m["text"])
    events = [e for e in await rows(depts, TicketEvent) if e.action == "recategorize"]
    assert len(events) == 1 and events[0].actor_id == CG_ID and guess in (events[0].note or "")
    [example] = await rows(depts, LabelledExample)
    assert (example.source, example.kind, example.category) == ("category", "report", guess)
    assert example.channel == "private" and example.text == GARBAGE
    assert example.intent == moved.intent and example.urgency == moved.urgency
    # The question loses its buttons and the chat reads what happened.
    await sim.wait_until(lambda: not buttons(_message(depts, asked)))
    await expect(sim, CG_CHAT, lambda m: "已更正为" in m["text"])


async def test_a_typed_category_reroutes_and_bad_ones_are_explained(depts: LocalStack) -> None:
    sim = depts.sim
    number = await report(depts, RESIDENT_ID, GARBAGE)
    card = await card_in(depts, CG_CHAT, number)
    for typed, says in (("不存在的分类", "未找到分类"), ("其他", "对应多个分类")):
        asked = await ask_category(depts, CG_ID, card)
        since = mark(sim, CG_CHAT)
        sim.send_text(CG_ID, typed, chat_id=CG_CHAT, reply_to_message_id=asked["message_id"])
        await expect(sim, CG_CHAT, lambda m, s=says: s in m["text"], after=since)  # type: ignore[misc]
    assert (await the_ticket(depts, number)).department == "district_cg"
    asked = await ask_category(depts, CG_ID, card)
    since = mark(sim, CG_CHAT)
    sim.send_text(
        CG_ID, "劳动和社会保障", chat_id=CG_CHAT, reply_to_message_id=asked["message_id"]
    )
    await expect(sim, CG_CHAT, lambda m: "区人力资源和社会保障局" in m["text"], after=since)
    moved = await the_ticket(depts, number)
    assert (moved.category, moved.department) == ("劳动和社会保障", "district_rs")
    await card_in(depts, RS_CHAT, number, "劳动和社会保障")
    await sim.wait_until(lambda: "劳动和社会保障" in _message(depts, card)["text"])
    [example] = await rows(depts, LabelledExample)
    assert example.category == "劳动和社会保障"


async def test_only_the_holder_may_correct_and_forged_taps_change_nothing(
    depts: LocalStack,
) -> None:
    sim = depts.sim
    number = await report(depts, RESIDENT_ID, GARBAGE)
    card = await card_in(depts, CG_CHAT, number)
    asked = await ask_category(depts, CG_ID, card)
    guess = next(iter(buttons(asked)))
    # Staff of another department, and someone who is not staff, press the offered category.
    sim.press_button(RS_ID, CG_CHAT, asked["message_id"], buttons(asked)[guess], force=True)
    assert "不由您所在的部门承办" in (await answered(depts, 2))["text"]
    sim.add_user(STRANGER, "路人")
    sim.press_button(STRANGER, CG_CHAT, asked["message_id"], buttons(asked)[guess], force=True)
    assert (await answered(depts, 3))["text"] == "只有登记的工作人员可以操作工单。"
    for n, forged in enumerate(("k:1:99", "k:x:0", "k:999999:0"), start=4):
        sim.press_button(CG_ID, CG_CHAT, asked["message_id"], forged, force=True)
        assert (await answered(depts, n))["text"] == "按钮无效或已过期。"
    ticket = await the_ticket(depts, number)
    assert ticket.department == "district_cg" and not await rows(depts, LabelledExample)


async def test_correcting_a_grid_ticket_held_by_its_community_reroutes_by_category(
    stack: LocalStack,
) -> None:
    """属地 sends a listed grid's report to its community first; a correction follows the
    category rules, as a new private report of that category would."""
    sim = stack.sim
    await stack.setup_staff(SQ_ID, SQ_CHAT, "社区小周", department="幸福社区居委会")
    await stack.setup_staff(RS_ID, RS_CHAT, "人社小钱", department="区人力资源和社会保障局")
    sim.add_group(GRID, "幸福社区第一网格群")
    sim.add_user(RESIDENT_ID, "张阿姨")
    sim.send_text(ADMIN_ID, "/bind_grid 幸福社区第一网格", chat_id=GRID)
    await expect(sim, GRID, lambda m: "网格群「幸福社区第一网格」" in m["text"])
    sim.send_text(RESIDENT_ID, "/start")
    await expect(sim, RESIDENT_ID, lambda m: "件件有回音" in m["text"])
    sim.send_text(RESIDENT_ID, CONFIDENT, chat_id=GRID)
    await expect(sim, GRID, lambda m: "已登记为工单" in m["text"])
    [ticket] = await rows(stack, Ticket)
    assert ticket.department == "community_xingfu"
    card = await card_in(stack, SQ_CHAT, ticket.number)
    asked = await ask_category(stack, SQ_ID, card)
    since = mark(sim, SQ_CHAT)
    sim.send_text(
        SQ_ID, "劳动和社会保障", chat_id=SQ_CHAT, reply_to_message_id=asked["message_id"]
    )
    await expect(sim, SQ_CHAT, lambda m: "区人力资源和社会保障局" in m["text"], after=since)
    moved = await the_ticket(stack, ticket.number)
    assert (moved.category, moved.department) == ("劳动和社会保障", "district_rs")
    await card_in(stack, RS_CHAT, ticket.number, "劳动和社会保障")


# --- Grid groups: 非诉求, 不是, the limit ----------------------------------------------------


async def test_staff_mark_a_group_ticket_not_a_report(grid: LocalStack) -> None:
    sim = grid.sim
    sim.send_text(RESIDENT_ID, "/start")
    await expect(sim, RESIDENT_ID, lambda m: "件件有回音" in m["text"])
    sim.send_text(RESIDENT_ID, CONFIDENT, chat_id=GRID)
    await expect(sim, GRID, lambda m: "已登记为工单" in m["text"])
    [ticket] = await rows(grid, Ticket)
    card = await card_in(grid, STAFF_CHAT_ID, ticket.number)
    assert "非诉求" in buttons(card)
    press(grid, STAFF_ID, card, "非诉求")
    assert "非诉求" in (await answered(grid, 1))["text"]
    polite = await expect(sim, RESIDENT_ID, lambda m: "不是需要办理的诉求" in m["text"])
    assert ticket.number in polite["text"]
    assert (await the_ticket(grid, ticket.number)).status == Status.CANCELLED
    await sim.wait_until(lambda: "已标记为非诉求" in _message(grid, card)["text"])
    assert not buttons(_message(grid, card))
    [example] = await rows(grid, LabelledExample)
    assert (example.source, example.channel, example.kind) == ("not_report", "group", "chatter")
    # A resident's own private report is a report: its card has no 非诉求.
    number = await report(grid, NEIGHBOUR, GARBAGE)
    assert "非诉求" not in buttons(await card_in(grid, STAFF_CHAT_ID, number))


async def test_not_this_under_a_group_question_is_kept_as_an_example(grid: LocalStack) -> None:
    sim = grid.sim
    sim.send_text(NEIGHBOUR, "下水道堵了，污水流了一地", chat_id=GRID)
    prompt = await expect(sim, GRID, lambda m: "提交为诉求" in str(m.get("reply_markup")))
    press(grid, WORKER, prompt, "不是")
    await answered(grid, 1)
    [example] = await rows(grid, LabelledExample)
    assert (example.source, example.channel, example.kind) == ("group_no", "group", "chatter")
    assert example.actor_id == WORKER


async def test_the_hourly_limit_is_told_privately_or_briefly_in_the_thread(
    grid: LocalStack,
) -> None:
    sim = grid.sim
    assert grid.runtime is not None
    grid.runtime.services.reports_per_hour = 1
    sim.send_text(NEIGHBOUR, CONFIDENT, chat_id=GRID)
    await expect(sim, GRID, lambda m: "已登记为工单" in m["text"])
    # Never started the bot: a short line in the thread, no name, no number.
    post = sim.send_text(NEIGHBOUR, GARBAGE, chat_id=GRID)
    notice = await expect(sim, GRID, lambda m: "已达上限" in m["text"])
    assert notice["reply_to_message"]["message_id"] == post["message_id"]
    assert "老李" not in notice["text"]
    # A resident who started the bot hears it privately, and the group hears nothing.
    sim.send_text(RESIDENT_ID, "/start")
    await expect(sim, RESIDENT_ID, lambda m: "件件有回音" in m["text"])
    first = sim.send_text(RESIDENT_ID, CONFIDENT + "，还是没人修", chat_id=GRID)
    await expect(
        sim, GRID, lambda m: m.get("reply_to_message", {}).get("message_id") == first["message_id"]
    )
    tickets_before, before = await ticket_count(grid), len(sim.bot_messages(GRID))
    sim.send_text(RESIDENT_ID, GARBAGE + "，太臭了", chat_id=GRID)
    await expect(sim, RESIDENT_ID, lambda m: "上限" in m["text"] and "未登记" in m["text"])
    assert not [m for m in sim.bot_messages(GRID)[before:] if "上限" in m["text"]]
    assert await ticket_count(grid) == tickets_before


# --- Urgent means urgent; places as residents name them ------------------------------------


async def test_an_urgent_report_gets_24_hours_and_its_place_shows(depts: LocalStack) -> None:
    number = await report(depts, RESIDENT_ID, GAS)
    ack = last_with(depts, RESIDENT_ID, number)
    ticket = await the_ticket(depts, number)
    assert ticket.urgency == "紧急"
    assert ticket.deadline_at - ticket.created_at == timedelta(hours=24)
    assert ticket.location == "3栋2单元"
    assert "紧急" in ack["text"] and "地点：3栋2单元" in ack["text"]
    holder = await card_in(depts, _holder_chat(ticket.department), number)
    assert holder["text"].startswith("🔴") and "地点：3栋2单元" in holder["text"]
    assert f"办结时限：{format_time(ticket.deadline_at)}" in holder["text"]


def _holder_chat(department: str | None) -> int:
    return {"district_cg": CG_CHAT, "district_zj": ZJ_CHAT, "district_rs": RS_CHAT}.get(
        department or "", STAFF_CHAT_ID
    )
