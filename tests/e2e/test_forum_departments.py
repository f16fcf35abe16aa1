"""Several departments in one forum group, each bound in its own topic."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bot.domain import Status
from storage.models import BoundChat, DepartmentMember
from tests.e2e.helpers import press, report, the_ticket
from tests.harness import ADMIN_ID, RESIDENT_ID, STAFF_CHAT_ID, LocalStack, expect

FORUM = -1004000000123
CG_ID, RS_ID, WORKMAN = 5301, 5302, 5303
LAMP = "小区门口的路灯坏了，晚上看不见路"  # 城市建设和市政管理 → 区城管委
WAGES = "公司拖欠我三个月工资不给，老板跑了"  # 劳动和社会保障 → 区人社局


def _in(stack: LocalStack, topic: int, needle: str) -> list[dict[str, Any]]:
    return [
        m
        for m in stack.sim.bot_messages(FORUM)
        if needle in (m.get("text") or "") and m.get("message_thread_id") == topic
    ]


async def _rows(stack: LocalStack, model: type, *where: object) -> list[Any]:
    assert stack.runtime is not None
    async with stack.runtime.services.sessions() as s:
        return list((await s.execute(select(model).where(*where))).scalars())  # type: ignore[arg-type]


async def _department_in_topic(
    stack: LocalStack, topic: int, department: str, staff_id: int, name: str
) -> None:
    """An admin binds the topic to a department; /add_staff there registers its staff."""
    sim = stack.sim
    sim.send_text(ADMIN_ID, f"/bind_staff {department}", chat_id=FORUM, thread_id=topic)
    await expect(sim, FORUM, lambda m: bool(_in(stack, topic, "工作群")) and m is not None)
    sim.add_user(staff_id, name)
    hello = sim.send_text(staff_id, "我来了", chat_id=FORUM, thread_id=topic)
    sim.send_text(
        ADMIN_ID, "/add_staff", chat_id=FORUM, thread_id=topic,
        reply_to_message_id=hello["message_id"],
    )  # fmt: skip
    await expect(sim, FORUM, lambda m: bool(_in(stack, topic, name)) and m is not None)


async def _card(stack: LocalStack, topic: int, number: str) -> dict[str, Any]:
    await expect(stack.sim, FORUM, lambda m: bool(_in(stack, topic, number)) and m is not None)
    return _in(stack, topic, number)[-1]


async def test_two_departments_in_two_topics_of_one_group(stack: LocalStack) -> None:
    sim = stack.sim
    sim.add_bot_to_group(FORUM, "区直部门工作群", ADMIN_ID, forum=True)
    await expect(sim, FORUM, lambda m: "/bind_staff" in m.get("text", ""))
    cg = sim.add_topic(FORUM, "城管", ADMIN_ID)
    rs = sim.add_topic(FORUM, "人社", ADMIN_ID)
    await _department_in_topic(stack, cg, "区城管委", CG_ID, "城管小王")
    await _department_in_topic(stack, rs, "区人社局", RS_ID, "人社小钱")

    bindings = await _rows(stack, BoundChat, BoundChat.chat_id == FORUM)
    assert sorted((b.thread_id, b.name) for b in bindings) == [
        (cg, "district_cg"),
        (rs, "district_rs"),
    ]
    members = {(m.user_id, m.department) for m in await _rows(stack, DepartmentMember)}
    assert {(CG_ID, "district_cg"), (RS_ID, "district_rs")} <= members
    assert (CG_ID, "district_rs") not in members and (RS_ID, "district_cg") not in members

    # Each department's ticket lands in its own topic, and only there.
    sim.add_user(RESIDENT_ID, "张阿姨")
    sim.add_user(WORKMAN, "老赵")
    lamp = await report(stack, RESIDENT_ID, LAMP)
    wages = await report(stack, WORKMAN, WAGES)
    lamp_card = await _card(stack, cg, lamp)
    wages_card = await _card(stack, rs, wages)
    assert "区城市管理委员会" in lamp_card["text"] and "区人力资源" in wages_card["text"]
    assert not _in(stack, rs, lamp) and not _in(stack, cg, wages)
    general = [m for m in sim.bot_messages(FORUM) if m.get("message_thread_id") is None]
    assert not [m for m in general if lamp in m.get("text", "") or wages in m.get("text", "")]

    # 人社's member of staff cannot act on 城管's card, though it shows in the same group.
    before = len(sim.callback_answers)
    press(stack, RS_ID, lamp_card, "受理")
    await sim.wait_until(lambda: len(sim.callback_answers) > before)
    assert sim.callback_answers[-1].get("show_alert"), sim.callback_answers[-1]
    assert (await the_ticket(stack, lamp)).status == Status.NEW
    # 城管's may; the card is edited in its topic.
    press(stack, CG_ID, lamp_card, "受理")
    await sim.wait_until(lambda: any("已受理" in m["text"] for m in _in(stack, cg, lamp)))
    assert (await the_ticket(stack, lamp)).status == Status.ACCEPTED
    # 办结 asks its note in the card's topic.
    press(stack, CG_ID, _in(stack, cg, lamp)[-1], "办结")
    await expect(sim, FORUM, lambda m: bool(_in(stack, cg, "办理结果")) and m is not None)
    assert not _in(stack, rs, "办理结果")
    prompt = _in(stack, cg, "办理结果")[-1]
    await stack.recorded(prompt)
    sim.send_text(CG_ID, "已更换灯泡", chat_id=FORUM, reply_to_message_id=prompt["message_id"])
    await sim.wait_until(lambda: bool(_in(stack, cg, "已办结，结果已转告反映人")))
    assert (await the_ticket(stack, lamp)).status == Status.RESOLVED

    # /queue, /stats and /help answer for the topic they are sent in.
    sim.send_text(RS_ID, "/queue", chat_id=FORUM, thread_id=rs)
    queue = await expect(sim, FORUM, lambda m: "待办" in m.get("text", "") and
                         m.get("message_thread_id") == rs)  # fmt: skip
    assert wages in queue["text"] and lamp not in queue["text"]
    sim.send_text(CG_ID, "/stats", chat_id=FORUM, thread_id=cg)
    stats = await expect(sim, FORUM, lambda m: "本考核周期" in m.get("text", "") and
                         m.get("message_thread_id") == cg)  # fmt: skip
    assert "区城市管理委员会" in stats["text"]
    assert "区人力资源" not in stats["text"]
    sim.send_text(RS_ID, "/help", chat_id=FORUM, thread_id=rs)
    helped = await expect(sim, FORUM, lambda m: "/queue" in m.get("text", "") and
                          m.get("message_thread_id") == rs)  # fmt: skip
    assert "区人力资源和社会保障局" in helped["text"]

    # /unbind in one topic ends that department's binding only.
    sim.send_text(ADMIN_ID, "/unbind", chat_id=FORUM, thread_id=rs)
    await expect(sim, FORUM, lambda m: "解除" in m.get("text", "") and
                 m.get("message_thread_id") == rs)  # fmt: skip
    left = await _rows(stack, BoundChat, BoundChat.chat_id == FORUM)
    assert [(b.thread_id, b.name) for b in left] == [(cg, "district_cg")]

    # Removed from the group: every binding of it ends and the dispatch chat is told.
    sim.send_text(ADMIN_ID, "/bind_staff 区人社局", chat_id=FORUM, thread_id=rs)
    await expect(sim, FORUM, lambda m: len(_in(stack, rs, "工作群")) > 1 and m is not None)
    sim.remove_bot_from_group(FORUM, ADMIN_ID)
    notice = await expect(sim, STAFF_CHAT_ID, lambda m: "移出" in m.get("text", ""))
    assert "区城市管理委员会" in notice["text"] and "区人力资源和社会保障局" in notice["text"]
    assert await _rows(stack, BoundChat, BoundChat.chat_id == FORUM) == []
