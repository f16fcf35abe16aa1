"""Evidence reaches staff: the resident's photos and location, in every chat handling it."""

from __future__ import annotations

from typing import Any

from tests.e2e.helpers import press, report, texts_in
from tests.e2e.test_dispatch import (  # noqa: F401  (the fixture)
    CG_CHAT,
    CG_ID,
    GARBAGE,
    RS_CHAT,
    act,
    card_in,
    depts,
)
from tests.harness import RESIDENT_ID, STAFF_CHAT_ID, STAFF_ID, LocalStack, expect, mark


def photos_in(stack: LocalStack, chat_id: int, number: str) -> list[dict[str, Any]]:
    """The photos the bot posted in a chat about a ticket."""
    return [
        m
        for m in stack.sim.bot_messages(chat_id)
        if "photo" in m and number in (m.get("caption") or "")
    ]


def pins_in(stack: LocalStack, chat_id: int, number: str) -> list[dict[str, Any]]:
    """The map pins the bot posted in a chat about a ticket."""
    return [
        m
        for m in stack.sim.bot_messages(chat_id)
        if "venue" in m and number in m["venue"]["address"]
    ]


async def attach_evidence(stack: LocalStack, number: str) -> str:
    """The resident adds a photo and a location; return the photo's file id."""
    sim = stack.sim
    sent = sim.send_photo(RESIDENT_ID, data=b"\xff\xd8corridor")
    await expect(sim, RESIDENT_ID, lambda m: "照片已补充" in m["text"])
    sim.send_location(RESIDENT_ID, 39.9087, 116.3975)
    await expect(sim, RESIDENT_ID, lambda m: "位置已补充" in m["text"])
    return str(sent["photo"][-1]["file_id"])


async def test_photo_and_location_reach_every_handler(
    depts: LocalStack,  # noqa: F811
) -> None:
    sim = depts.sim
    number = await report(depts, RESIDENT_ID, GARBAGE)
    card = await card_in(depts, CG_CHAT, number)
    file_id = await attach_evidence(depts, number)

    # The handling chat sees the photo (captioned with the number) and a map pin.
    await sim.wait_until(lambda: bool(pins_in(depts, CG_CHAT, number)), timeout=10)
    [photo] = photos_in(depts, CG_CHAT, number)
    assert photo["caption"] == f"工单 {number} 反映人提供的照片"
    assert photo["photo"][-1]["file_id"] == file_id
    [pin] = pins_in(depts, CG_CHAT, number)
    assert pin["location"] == {"latitude": 39.9087, "longitude": 116.3975}
    assert pin["venue"]["title"]  # the extracted place, or 反映人位置
    await card_in(depts, CG_CHAT, number, "附件：照片 1 张、位置 1 处")
    # Not to chats that do not handle it.
    assert photos_in(depts, STAFF_CHAT_ID, number) == []
    assert photos_in(depts, RS_CHAT, number) == []

    # 转派: the new handler gets the card and the evidence with it.
    await act(depts, CG_ID, card, "转派", "转派部门", "区人社局 涉及物业公司拖欠保洁工资")
    await card_in(depts, RS_CHAT, number, "承办：区人力资源和社会保障局", "附件：照片 1 张")
    await sim.wait_until(lambda: bool(pins_in(depts, RS_CHAT, number)), timeout=10)
    assert len(photos_in(depts, RS_CHAT, number)) == 1
    assert len(photos_in(depts, CG_CHAT, number)) == 1  # nothing sent twice


async def test_ticket_lookup_shows_evidence_readably(stack: LocalStack) -> None:
    sim = stack.sim
    sim.add_user(RESIDENT_ID, "张阿姨")
    number = await report(stack, RESIDENT_ID, "幸福小区3栋楼道的灯坏了一个星期了，晚上太黑了")
    await expect(sim, STAFF_CHAT_ID, lambda m: number in m.get("text", ""))
    file_id = await attach_evidence(stack, number)
    await sim.wait_until(lambda: bool(pins_in(stack, STAFF_CHAT_ID, number)), timeout=10)

    since = mark(sim, STAFF_CHAT_ID)
    sim.send_text(STAFF_ID, f"/ticket {number}", chat_id=STAFF_CHAT_ID)
    answer = await expect(
        sim, STAFF_CHAT_ID, lambda m: "办理过程" in m.get("text", ""), after=since
    )
    assert "补充照片｜" in answer["text"] and "照片（已发至本群）" in answer["text"]
    assert "补充位置" in answer["text"] and "39.90870,116.39750" in answer["text"]
    assert file_id not in answer["text"] and "attach_" not in answer["text"]
    # The evidence is shown again under the answer.
    await sim.wait_until(lambda: len(pins_in(stack, STAFF_CHAT_ID, number)) == 2, timeout=10)
    assert len(photos_in(stack, STAFF_CHAT_ID, number)) == 2
    assert "attach_photo" not in "".join(texts_in(stack, STAFF_CHAT_ID))


async def test_the_result_photo_still_reaches_the_resident(stack: LocalStack) -> None:
    sim = stack.sim
    sim.add_user(RESIDENT_ID, "张阿姨")
    number = await report(stack, RESIDENT_ID, "幸福小区3栋楼道的灯坏了一个星期了，晚上太黑了")
    card = await expect(sim, STAFF_CHAT_ID, lambda m: number in m.get("text", ""))
    since = mark(sim, STAFF_CHAT_ID)
    press(stack, STAFF_ID, card, "办结")
    prompt = await expect(
        sim, STAFF_CHAT_ID, lambda m: "请回复工单" in m.get("text", ""), after=since
    )
    await stack.recorded(prompt)
    sim.send_photo(
        STAFF_ID, chat_id=STAFF_CHAT_ID, caption="已更换灯泡",
        reply_to_message_id=prompt["message_id"],
    )
    await expect(sim, RESIDENT_ID, lambda m: "photo" in m and "办理结果照片" in m["caption"])
    assert photos_in(stack, STAFF_CHAT_ID, number) == []  # not evidence from the reporter
