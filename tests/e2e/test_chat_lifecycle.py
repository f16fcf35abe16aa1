"""The bot added to and removed from groups, groups upgraded to supergroups, forum topics."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from bot import texts
from storage.models import BoundChat, GridWorker, OutboxMessage, Ticket
from tests.e2e.helpers import report
from tests.harness import ADMIN_ID, RESIDENT_ID, STAFF_CHAT_ID, LocalStack, expect

GRID = -4001
SUPERGROUP = -1004000000001
WORKER = 5201
NEIGHBOUR = 5202
CONFIDENT = "幸福小区3栋楼道的灯坏了一个星期了，晚上漆黑一片"


async def _rows(stack: LocalStack, model: type, *where: object) -> list:  # type: ignore[type-arg]
    assert stack.runtime is not None
    async with stack.runtime.services.sessions() as s:
        return list((await s.execute(select(model).where(*where))).scalars())  # type: ignore[arg-type]


async def _grid(stack: LocalStack, chat_id: int, **kind: object) -> None:
    sim = stack.sim
    sim.add_user(WORKER, "网格员小刘")
    sim.add_user(NEIGHBOUR, "老李")
    sim.add_bot_to_group(chat_id, "幸福社区第三网格群", ADMIN_ID, **kind)  # type: ignore[arg-type]
    await expect(sim, chat_id, lambda m: "/bind_grid" in m.get("text", ""))
    sim.send_text(ADMIN_ID, "/bind_grid 幸福社区第三网格", chat_id=chat_id)
    await expect(sim, chat_id, lambda m: "网格群「幸福社区第三网格」" in m["text"])
    hello = sim.send_text(WORKER, "我是网格员", chat_id=chat_id)
    sim.send_text(
        ADMIN_ID, "/add_worker", chat_id=chat_id, reply_to_message_id=hello["message_id"]
    )
    await expect(sim, chat_id, lambda m: "网格员。" in m["text"] and "已将" in m["text"])


async def test_added_to_a_group_it_explains_setup_and_warns_when_it_cannot_read(
    stack: LocalStack,
) -> None:
    sim = stack.sim
    sim.add_bot_to_group(-5001, "能读的群", ADMIN_ID)
    hello = await expect(sim, -5001, lambda m: "/bind_staff" in m.get("text", ""))
    assert "/bind_grid" in hello["text"] and "看不到" not in hello["text"]

    sim.set_privacy_mode(True)
    await stack.stop_bot()
    await stack.start_bot()  # getMe is read at start
    sim.add_bot_to_group(-5002, "隐私模式的群", ADMIN_ID)
    warned = await expect(sim, -5002, lambda m: "/bind_staff" in m.get("text", ""))
    assert texts.CANNOT_READ_GROUP in warned["text"] and "/setprivacy" in warned["text"]
    sim.add_bot_to_group(-5003, "我是管理员的群", ADMIN_ID, admin=True)
    admin = await expect(sim, -5003, lambda m: "/bind_staff" in m.get("text", ""))
    assert "看不到" not in admin["text"]


async def test_removed_from_a_grid_group_the_binding_ends_and_dispatch_is_told(
    stack: LocalStack,
) -> None:
    sim = stack.sim
    await _grid(stack, GRID)
    assert await _rows(stack, GridWorker, GridWorker.grid_chat_id == GRID)
    sim.remove_bot_from_group(GRID, ADMIN_ID)
    notice = await expect(sim, STAFF_CHAT_ID, lambda m: "移出" in m.get("text", ""))
    assert (
        "幸福社区第三网格群" in notice["text"] and "网格群「幸福社区第三网格」" in notice["text"]
    )
    assert await _rows(stack, BoundChat, BoundChat.chat_id == GRID) == []
    assert await _rows(stack, GridWorker, GridWorker.grid_chat_id == GRID) == []


async def test_a_group_upgraded_to_a_supergroup_keeps_working(stack: LocalStack) -> None:
    sim = stack.sim
    await _grid(stack, GRID, kind="group")
    sim.send_text(NEIGHBOUR, CONFIDENT, chat_id=GRID)
    await expect(sim, GRID, lambda m: "已登记为工单" in m.get("text", ""))
    sim.migrate_group(GRID, SUPERGROUP, ADMIN_ID)

    async def moved() -> bool:
        return bool(await _rows(stack, BoundChat, BoundChat.chat_id == SUPERGROUP))

    for _ in range(100):
        if await moved():
            break
        await asyncio.sleep(0.05)
    assert await moved()
    assert await _rows(stack, BoundChat, BoundChat.chat_id == GRID) == []
    assert [w.user_id for w in await _rows(stack, GridWorker)] == [WORKER]
    tickets = await _rows(stack, Ticket)
    assert tickets and all(t.grid_chat_id == SUPERGROUP for t in tickets)
    assert all(t.source_chat_id == SUPERGROUP for t in tickets)
    # The grid still works in the supergroup: the worker may hand a post over there.
    post = sim.send_text(NEIGHBOUR, "小区门口的井盖丢了，很危险", chat_id=SUPERGROUP)
    sim.send_text(WORKER, "/report", chat_id=SUPERGROUP, reply_to_message_id=post["message_id"])
    await expect(sim, SUPERGROUP, lambda m: "登记" in m.get("text", ""))


async def test_chat_migrated_while_sending_moves_the_chat_and_delivers(stack: LocalStack) -> None:
    sim = stack.sim
    # The dispatch chat is upgraded and the bot missed the service message (it was down).
    new = -1009000000001
    sim.world.add_group(new, "街道接诉即办工作群", None)
    sim.world.chat_state(STAFF_CHAT_ID).migrated_to = new
    sim.add_user(RESIDENT_ID, "张阿姨")
    number = await report(stack, RESIDENT_ID, CONFIDENT)
    card = await expect(sim, new, lambda m: number in m.get("text", ""))
    assert card["chat"]["id"] == new
    assert await _rows(stack, BoundChat, BoundChat.chat_id == new)
    rows = await _rows(stack, OutboxMessage, OutboxMessage.chat_id == STAFF_CHAT_ID)
    assert all(r.status != "pending" for r in rows)
    assert not [r for r in await _rows(stack, OutboxMessage) if r.status == "failed"]


async def test_forum_topics_get_their_answers_in_the_topic(stack: LocalStack) -> None:
    sim = stack.sim
    forum = -1004000000077
    await _grid(stack, forum, forum=True)
    topic = sim.add_topic(forum, "3栋", ADMIN_ID)
    sim.send_text(NEIGHBOUR, CONFIDENT, chat_id=forum, thread_id=topic)
    ack = await expect(sim, forum, lambda m: "已登记为工单" in m.get("text", ""))
    assert ack.get("message_thread_id") == topic, ack
    sim.send_text(NEIGHBOUR, "/help", chat_id=forum, thread_id=topic)
    answer = await expect(sim, forum, lambda m: "本群是网格群" in m.get("text", ""))
    assert answer.get("message_thread_id") == topic, answer


async def test_a_department_bound_in_a_forum_topic_gets_its_cards_there(
    stack: LocalStack,
) -> None:
    sim = stack.sim
    forum = -1004000000099
    sim.add_bot_to_group(forum, "城管委工作群（话题）", ADMIN_ID, forum=True)
    await expect(sim, forum, lambda m: "/bind_staff" in m.get("text", ""))
    topic = sim.add_topic(forum, "区城管委", ADMIN_ID)
    sim.send_text(ADMIN_ID, "/bind_staff 区城管委", chat_id=forum, thread_id=topic)
    bound = await expect(
        sim, forum, lambda m: "工作群" in m.get("text", "") and "区城" in m["text"]
    )
    assert bound.get("message_thread_id") == topic, bound
    rows = await _rows(stack, BoundChat, BoundChat.chat_id == forum)
    assert rows and rows[0].thread_id == topic
    # A report the rules route to 区城管委: its card goes to the topic, not to General.
    sim.add_user(RESIDENT_ID, "张阿姨")
    number = await report(stack, RESIDENT_ID, "小区门口的路灯坏了，晚上看不见路")
    card = await expect(sim, forum, lambda m: number in m.get("text", ""))
    assert card.get("message_thread_id") == topic, card
    assert not [m for m in sim.bot_messages(forum) if number in m.get("text", "")
                and m.get("message_thread_id") != topic]  # fmt: skip
