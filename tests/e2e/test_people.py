"""People over time, from chat: remove staff and workers, unblock, unbind, admins, /people."""

from __future__ import annotations

from sqlalchemy import select

from storage.models import Admin, BlockedUser, BoundChat, DepartmentMember, GridWorker, StaffMember
from tests.harness import ADMIN_ID, STAFF_CHAT_ID, STAFF_ID, LocalStack, expect

GRID = -1002000000088
WORKER = 5301
RESIDENT = 5302
DEPUTY = 5303


async def _ids(stack: LocalStack, column: object) -> set[int]:
    assert stack.runtime is not None
    async with stack.runtime.services.sessions() as s:
        return set((await s.execute(select(column))).scalars())  # type: ignore[call-overload]


async def _grid(stack: LocalStack) -> None:
    sim = stack.sim
    for uid, name in ((WORKER, "网格员小刘"), (RESIDENT, "张阿姨"), (DEPUTY, "赵副主任")):
        sim.add_user(uid, name)
    sim.add_group(GRID, "幸福社区第三网格群")
    sim.send_text(ADMIN_ID, "/bind_grid 幸福社区第三网格", chat_id=GRID)
    await expect(sim, GRID, lambda m: "网格群「幸福社区第三网格」" in m["text"])
    hello = sim.send_text(WORKER, "我是网格员", chat_id=GRID)
    sim.send_text(ADMIN_ID, "/add_worker", chat_id=GRID, reply_to_message_id=hello["message_id"])
    await expect(sim, GRID, lambda m: "已将" in m["text"] and "网格员。" in m["text"])


async def test_an_admin_removes_staff_and_workers_by_reply(stack: LocalStack) -> None:
    sim = stack.sim
    await _grid(stack)
    said = sim.send_text(STAFF_ID, "收到", chat_id=STAFF_CHAT_ID)
    sim.send_text(
        WORKER, "/remove_staff", chat_id=STAFF_CHAT_ID, reply_to_message_id=said["message_id"]
    )
    await expect(sim, STAFF_CHAT_ID, lambda m: m["text"] == "只有管理员可以执行此命令。")
    assert STAFF_ID in await _ids(stack, StaffMember.user_id)
    sim.send_text(
        ADMIN_ID, "/remove_staff", chat_id=STAFF_CHAT_ID, reply_to_message_id=said["message_id"]
    )
    await expect(sim, STAFF_CHAT_ID, lambda m: "移出本部门" in m["text"])
    assert STAFF_ID not in await _ids(stack, StaffMember.user_id)
    assert STAFF_ID not in await _ids(stack, DepartmentMember.user_id)

    said = sim.send_text(WORKER, "好的", chat_id=GRID)
    sim.send_text(ADMIN_ID, "/people", chat_id=GRID)
    listed = await expect(sim, GRID, lambda m: "网格员：" in m["text"])
    assert "网格员小刘" in listed["text"] and str(WORKER) not in listed["text"]
    sim.send_text(ADMIN_ID, "/remove_worker", chat_id=GRID, reply_to_message_id=said["message_id"])
    await expect(sim, GRID, lambda m: "移出本网格" in m["text"])
    assert await _ids(stack, GridWorker.user_id) == set()


async def test_block_unblock_and_unbind(stack: LocalStack) -> None:
    sim = stack.sim
    await _grid(stack)
    post = sim.send_text(RESIDENT, "广告广告", chat_id=GRID)
    sim.send_text(ADMIN_ID, "/block", chat_id=GRID, reply_to_message_id=post["message_id"])
    await expect(sim, GRID, lambda m: "禁止" in m["text"])
    assert RESIDENT in await _ids(stack, BlockedUser.user_id)
    sim.send_text(ADMIN_ID, "/unblock", chat_id=GRID, reply_to_message_id=post["message_id"])
    await expect(sim, GRID, lambda m: "已恢复" in m["text"])
    assert RESIDENT not in await _ids(stack, BlockedUser.user_id)
    sim.send_text(ADMIN_ID, "/unbind", chat_id=GRID)
    await expect(sim, GRID, lambda m: "已解除本群的绑定" in m["text"])
    assert GRID not in await _ids(stack, BoundChat.chat_id)
    assert await _ids(stack, GridWorker.user_id) == set()


async def test_admins_live_in_the_database_and_are_managed_in_chat(stack: LocalStack) -> None:
    sim = stack.sim
    await _grid(stack)
    assert await _ids(stack, Admin.user_id) == {ADMIN_ID}  # seeded from HUIYIN_ADMIN_IDS
    said = sim.send_text(DEPUTY, "我来协助", chat_id=GRID)
    sim.send_text(DEPUTY, "/bind_grid 别的网格", chat_id=GRID)
    await expect(sim, GRID, lambda m: m["text"] == "只有管理员可以执行此命令。")
    sim.send_text(ADMIN_ID, "/add_admin", chat_id=GRID, reply_to_message_id=said["message_id"])
    await expect(sim, GRID, lambda m: "设为管理员" in m["text"])
    assert DEPUTY in await _ids(stack, Admin.user_id)
    sim.send_text(DEPUTY, "/people", chat_id=GRID)
    listed = await expect(sim, GRID, lambda m: "管理员：" in m["text"])
    assert "赵副主任" in listed["text"]
    mine = sim.send_text(ADMIN_ID, "我是主任", chat_id=GRID)
    sim.send_text(DEPUTY, "/remove_admin", chat_id=GRID, reply_to_message_id=mine["message_id"])
    await expect(sim, GRID, lambda m: "取消" in m["text"] and "王主任" in m["text"])
    assert await _ids(stack, Admin.user_id) == {DEPUTY}
    # The change survives a restart (HUIYIN_ADMIN_IDS only adds, it is a seed).
    await stack.stop_bot()
    await stack.start_bot()
    assert stack.runtime is not None and DEPUTY in stack.runtime.services.admin_ids
