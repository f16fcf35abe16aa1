"""Grid workers see their grid: /my, /queue in the grid group, notices addressed to them."""

from __future__ import annotations

from tests.e2e.helpers import press
from tests.e2e.test_groups import (  # noqa: F401  (the fixture)
    GRID,
    NEIGHBOUR,
    RESIDENT,
    WORKER,
    grid,
    tickets,
)
from tests.harness import STAFF_CHAT_ID, STAFF_ID, LocalStack, expect, mark

POST = "我家厨房的水龙头滴水，谁会修"  # not sure enough to file alone: the worker reports it


async def test_a_worker_sees_what_they_handed_over_and_their_grid(
    grid: LocalStack,  # noqa: F811
) -> None:
    sim = grid.sim
    for uid in (WORKER, RESIDENT):
        sim.send_text(uid, "/start")
        await expect(sim, uid, lambda m: "件件有回音" in m["text"])
    post = sim.send_text(RESIDENT, POST, chat_id=GRID)
    sim.send_text(WORKER, "/report", chat_id=GRID, reply_to_message_id=post["message_id"])
    await expect(sim, GRID, lambda m: "已登记为工单" in m["text"])
    [ticket] = await tickets(grid)
    assert ticket.worker_id == WORKER and ticket.reporter_id == RESIDENT

    # /my in private lists the ticket handed over; /status opens it.
    since = mark(sim, WORKER)
    sim.send_text(WORKER, "/my")
    mine = await expect(sim, WORKER, lambda m: "您最近的工单" in m["text"], after=since)
    assert f"{ticket.number}｜待" in mine["text"] and "（代为上报）" in mine["text"]
    sim.send_text(WORKER, f"/status {ticket.number}")
    await expect(sim, WORKER, lambda m: "承诺办结时限" in m["text"] and ticket.number in m["text"])

    # /queue in the grid group: the grid's open tickets, without personal data.
    since = mark(sim, GRID)
    sim.send_text(WORKER, "/queue", chat_id=GRID)
    queue = await expect(sim, GRID, lambda m: "待办工单" in m["text"], after=since)
    assert "幸福社区第三网格" in queue["text"] and ticket.number in queue["text"]
    assert "张阿姨" not in queue["text"] and "水龙头" not in queue["text"]
    # Residents of the group do not get the list.
    since = mark(sim, GRID)
    sim.send_text(NEIGHBOUR, "/queue", chat_id=GRID)
    await expect(sim, GRID, lambda m: "只有本网格的网格员可以查看" in m["text"], after=since)

    # The worker's copy of each notice is addressed to them, not as the reporter.
    card = await expect(sim, STAFF_CHAT_ID, lambda m: ticket.number in m["text"])
    press(grid, STAFF_ID, card, "受理")
    copy = await expect(sim, WORKER, lambda m: "已受理" in m["text"])
    assert copy["text"].startswith("【您代为上报的工单】居民反映的问题（工单 ")
    assert "您反映的问题" not in copy["text"]
    live = await expect(
        sim, STAFF_CHAT_ID, lambda m: ticket.number in m["text"] and "已受理" in m["text"]
    )
    since = mark(sim, STAFF_CHAT_ID)
    press(grid, STAFF_ID, live, "办结")
    prompt = await expect(sim, STAFF_CHAT_ID, lambda m: "请回复工单" in m["text"], after=since)
    sim.send_text(
        STAFF_ID, "已修好水龙头", chat_id=STAFF_CHAT_ID, reply_to_message_id=prompt["message_id"]
    )
    done = await expect(sim, WORKER, lambda m: "已修好水龙头" in m["text"])
    assert "由反映人评价" in done["text"] and "完成回访" not in done["text"]
    await expect(sim, RESIDENT, lambda m: "完成回访" in m["text"])
