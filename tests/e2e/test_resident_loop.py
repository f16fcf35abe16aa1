"""The resident's whole loop through real PTB over HTTP against the local Bot API simulator."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot import texts
from bot.domain import Status
from storage.models import Attachment, Followup, StaffMember, TicketEvent, TicketRating
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

REPORT = "幸福小区3栋楼道的灯坏了一个星期了，晚上漆黑一片"


async def test_demo_scene_plays_to_the_end(stack: LocalStack) -> None:
    from bot.demo import play_scene

    lines: list[str] = []
    await play_scene(stack.sim, lines.append)
    transcript = "\n".join(lines)
    for step in ("工单编号", "已受理", "已办结", "不满意", "重新交办", "感谢您的评价（满意）"):
        assert step in transcript, step
    number = transcript.split("工单编号：", 1)[1].split()[0]
    ticket = await the_ticket(stack, number)
    assert ticket.status == Status.CLOSED and ticket.resolution_round == 2
    assert ticket.reopen_reason is None or "二楼" in ticket.reopen_reason


async def test_report_accept_resolve_and_rate(stack: LocalStack) -> None:
    sim = stack.sim
    sim.add_user(RESIDENT_ID, "张阿姨")
    number = await report(stack, RESIDENT_ID, REPORT)
    assert "承诺办结时限" in last_with(stack, RESIDENT_ID, number)["text"]
    card = await expect(sim, STAFF_CHAT_ID, lambda m: number in m.get("text", ""))
    assert set(buttons(card)) == {"受理", "办结", "退回", "改分类", "联系方式"}

    since = mark(sim, RESIDENT_ID)
    press(stack, STAFF_ID, card, "受理")
    await expect(sim, RESIDENT_ID, lambda m: "已受理" in m["text"], after=since)
    card = await expect(
        sim, STAFF_CHAT_ID, lambda m: number in m["text"] and "已受理" in m["text"]
    )
    assert set(buttons(card)) == {"办结", "退回", "改分类", "联系方式"}

    press(stack, STAFF_ID, card, "办结")
    prompt = await expect(sim, STAFF_CHAT_ID, lambda m: "请回复工单" in m["text"])
    assert prompt["reply_markup"].get("force_reply") is True
    sim.send_text(
        STAFF_ID, "已更换灯泡", chat_id=STAFF_CHAT_ID, reply_to_message_id=prompt["message_id"]
    )
    notice = await expect(sim, RESIDENT_ID, lambda m: "已更换灯泡" in m["text"])
    # The 回访: one message, updated in place, one tap per question.
    assert "承办单位是否联系过您？" in notice["text"]
    assert set(buttons(notice)) == {"联系过", "没有联系"}
    sent_before = len(sim.bot_messages(RESIDENT_ID))
    press(stack, RESIDENT_ID, notice, "没有联系")
    second = await expect(
        sim,
        RESIDENT_ID,
        lambda m: m["message_id"] == notice["message_id"] and "问题是否解决" in m["text"],
    )
    assert "✅ 没有联系" in second["text"]
    assert set(buttons(second)) == {"已解决", "部分解决", "未解决"}
    press(stack, RESIDENT_ID, second, "部分解决")
    third = await expect(
        sim,
        RESIDENT_ID,
        lambda m: m["message_id"] == notice["message_id"] and "是否满意" in m["text"],
    )
    assert set(buttons(third)) == {"满意", "基本满意", "不满意"}
    press(stack, RESIDENT_ID, third, "基本满意")
    done = await expect(sim, RESIDENT_ID, lambda m: "感谢您的评价（基本满意）" in m["text"])
    assert done["message_id"] == notice["message_id"] and not buttons(done)
    assert len(sim.bot_messages(RESIDENT_ID)) == sent_before  # no new message, one updated
    ticket = await the_ticket(stack, number)
    assert ticket.status == Status.CLOSED
    assert stack.runtime is not None
    async with stack.runtime.services.sessions() as s:
        trail = (
            await s.execute(
                select(TicketEvent.action, TicketEvent.actor_id).where(
                    TicketEvent.ticket_id == ticket.id
                )
            )
        ).all()
        ratings = (await s.execute(select(TicketRating.score))).scalars().all()
        answers = (await s.execute(select(Followup))).scalars().all()
    assert [a for a, _ in trail] == ["report", "accept", "resolve", "rate_ok"]
    assert trail[1][1] == STAFF_ID
    assert ratings == ["basic"]
    assert [(f.round, f.rater_id, f.contacted, f.solved, f.satisfaction) for f in answers] == [
        (1, RESIDENT_ID, False, "partial", "basic")
    ]
    assert answers[0].completed_at is not None


async def test_return_reaches_the_reporter_with_the_reason(stack: LocalStack) -> None:
    sim = stack.sim
    sim.add_user(RESIDENT_ID, "张阿姨")
    number = await report(stack, RESIDENT_ID, REPORT)
    card = await expect(sim, STAFF_CHAT_ID, lambda m: number in m.get("text", ""))
    press(stack, STAFF_ID, card, "退回")
    prompt = await expect(sim, STAFF_CHAT_ID, lambda m: "退回工单" in m["text"])
    sim.send_text(
        STAFF_ID,
        "该处属于物业管辖，请联系物业",
        chat_id=STAFF_CHAT_ID,
        reply_to_message_id=prompt["message_id"],
    )
    notice = await expect(sim, RESIDENT_ID, lambda m: "已退回" in m["text"])
    assert "请联系物业" in notice["text"] and number in notice["text"]
    await expect(sim, STAFF_CHAT_ID, lambda m: number in m["text"] and "退回原因" in m["text"])
    assert (await the_ticket(stack, number)).status == Status.RETURNED


async def test_status_my_and_cancel(stack: LocalStack) -> None:
    sim = stack.sim
    sim.add_user(RESIDENT_ID, "张阿姨")
    sim.add_user(3001, "邻居")
    number = await report(stack, RESIDENT_ID, REPORT)
    sim.send_text(RESIDENT_ID, f"/status {number}")
    await expect(sim, RESIDENT_ID, lambda m: "状态：待受理" in m["text"])
    sim.send_text(3001, f"/status {number}")
    await expect(sim, 3001, lambda m: f"未找到工单 {number}" in m["text"])
    sim.send_text(RESIDENT_ID, "/my")
    await expect(sim, RESIDENT_ID, lambda m: "您最近的工单" in m["text"] and number in m["text"])
    sim.send_text(3001, f"/cancel {number}")
    await expect(sim, 3001, lambda m: "未找到" in m["text"] and "/cancel" not in m["text"])
    sim.send_text(RESIDENT_ID, f"/cancel {number}")
    await expect(sim, RESIDENT_ID, lambda m: f"工单 {number} 已撤销" in m["text"])
    await expect(sim, STAFF_CHAT_ID, lambda m: number in m["text"] and "已撤销" in m["text"])
    card = last_with(stack, STAFF_CHAT_ID, number)
    assert buttons(card) == {}


async def test_photo_and_location_after_a_report_are_attached(stack: LocalStack) -> None:
    sim = stack.sim
    sim.add_user(RESIDENT_ID, "张阿姨")
    number = await report(stack, RESIDENT_ID, REPORT)
    sim.send_photo(RESIDENT_ID)
    await expect(sim, RESIDENT_ID, lambda m: f"照片已补充到工单 {number}" in m["text"])
    sim.send_location(RESIDENT_ID, 39.9, 116.4)
    await expect(sim, RESIDENT_ID, lambda m: f"位置已补充到工单 {number}" in m["text"])
    shown = "附件：照片 1 张、位置 1 处"
    await expect(sim, STAFF_CHAT_ID, lambda m: number in m["text"] and shown in m["text"])
    assert stack.runtime is not None
    async with stack.runtime.services.sessions() as s:
        kinds = sorted((await s.execute(select(Attachment.kind))).scalars())
    assert kinds == ["location", "photo"]


async def test_photo_without_a_recent_report_explains_what_to_do(stack: LocalStack) -> None:
    stack.sim.add_user(RESIDENT_ID, "张阿姨")
    stack.sim.send_photo(RESIDENT_ID)
    await expect(stack.sim, RESIDENT_ID, lambda m: "请先用文字描述问题" in m["text"])
    assert await ticket_count(stack) == 0


async def test_start_and_help(stack: LocalStack) -> None:
    stack.sim.add_user(RESIDENT_ID, "张阿姨")
    stack.sim.send_text(RESIDENT_ID, "/start")
    await expect(stack.sim, RESIDENT_ID, lambda m: "件件有回音" in m["text"])
    stack.sim.send_text(RESIDENT_ID, "/help")
    await stack.sim.wait_until(lambda: len(texts_in(stack, RESIDENT_ID)) == 2)


@pytest.mark.parametrize("payload", ["t20261123-0001", "garbage", "t" + "9" * 60])
async def test_start_deep_link_payloads(stack: LocalStack, payload: str) -> None:
    stack.sim.add_user(RESIDENT_ID, "张阿姨")
    stack.sim.send_text(RESIDENT_ID, f"/start {payload}")
    answer = await expect(stack.sim, RESIDENT_ID, lambda m: True)
    if payload == "t20261123-0001":
        assert "未找到工单 20261123-0001" in answer["text"]
    else:
        assert "件件有回音" in answer["text"]


async def test_only_an_admin_adds_staff_by_replying_to_them(stack: LocalStack) -> None:
    sim = stack.sim
    newcomer = 3101
    sim.add_user(newcomer, "王干事")
    hello = sim.send_text(newcomer, "我是新来的王干事", chat_id=STAFF_CHAT_ID)
    sim.send_text(
        newcomer, "/add_staff", chat_id=STAFF_CHAT_ID, reply_to_message_id=hello["message_id"]
    )
    await expect(sim, STAFF_CHAT_ID, lambda m: m["text"] == texts.ADMIN_ONLY)
    sim.send_text(ADMIN_ID, "/add_staff", chat_id=STAFF_CHAT_ID)
    await expect(sim, STAFF_CHAT_ID, lambda m: m["text"] == texts.ADD_STAFF_USAGE)
    assert stack.runtime is not None
    async with stack.runtime.services.sessions() as s:
        assert await s.get(StaffMember, newcomer) is None
    since = mark(sim, STAFF_CHAT_ID)
    sim.send_text(
        ADMIN_ID, "/add_staff", chat_id=STAFF_CHAT_ID, reply_to_message_id=hello["message_id"]
    )
    added = await expect(sim, STAFF_CHAT_ID, lambda m: m["text"].startswith("已将"), after=since)
    assert "王干事" in added["text"]
    async with stack.runtime.services.sessions() as s:
        member = await s.get(StaffMember, newcomer)
    assert member is not None and member.added_by == ADMIN_ID
