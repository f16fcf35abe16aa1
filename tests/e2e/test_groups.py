"""Grid groups: the bot listens, asks when unsure, and grid workers hand posts over."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from bot.simulator.scene import tap_through
from nlp import Extractor
from storage.models import Attachment, Followup, Ticket
from tests.e2e.helpers import last_with, press, texts_in, ticket_count
from tests.harness import ADMIN_ID, STAFF_CHAT_ID, LocalStack, buttons, expect, mark

GRID = -1002000000001
WORKER = 5001
RESIDENT = 5002
NEIGHBOUR = 5003
CONFIDENT = "幸福小区3栋楼道的灯坏了一个星期了，晚上漆黑一片"


@pytest.fixture
async def grid(sqlite_url: str, extractor: Extractor) -> AsyncIterator[LocalStack]:
    """A running bot with a staff chat and a bound grid group with one grid worker."""
    async with LocalStack(
        database_url=sqlite_url, extractor=extractor, migrate=False, lease_seconds=2.0
    ) as stack:
        await stack.setup_staff()
        sim = stack.sim
        sim.add_group(GRID, "幸福社区第三网格群")
        for uid, name in ((WORKER, "网格员小刘"), (RESIDENT, "张阿姨"), (NEIGHBOUR, "老李")):
            sim.add_user(uid, name)
        sim.send_text(ADMIN_ID, "/bind_grid 幸福社区第三网格", chat_id=GRID)
        await expect(sim, GRID, lambda m: "网格群「幸福社区第三网格」" in m["text"])
        hello = sim.send_text(WORKER, "我是本网格网格员小刘", chat_id=GRID)
        sim.send_text(
            ADMIN_ID, "/add_worker", chat_id=GRID, reply_to_message_id=hello["message_id"]
        )
        await expect(sim, GRID, lambda m: "网格员" in m["text"] and "登记" in m["text"])
        yield stack


async def tickets(stack: LocalStack) -> list[Ticket]:
    assert stack.runtime is not None
    async with stack.runtime.services.sessions() as s:
        return list((await s.execute(select(Ticket).order_by(Ticket.id))).scalars())


async def test_a_confident_post_opens_a_ticket_for_its_author(grid: LocalStack) -> None:
    sim = grid.sim
    post = sim.send_text(RESIDENT, CONFIDENT + "，电话13812345678", chat_id=GRID)
    answer = await expect(sim, GRID, lambda m: "已登记为工单" in m["text"])
    assert answer["reply_to_message"]["message_id"] == post["message_id"]
    # The resident never started the bot: the thread carries a deep link, and no personal data.
    assert "https://t.me/huiyin_bot?start=t" in answer["text"]
    assert "13812345678" not in answer["text"] and "张阿姨" not in answer["text"]
    [ticket] = await tickets(grid)
    assert ticket.reporter_id == RESIDENT and ticket.grid_chat_id == GRID
    card = await expect(sim, STAFF_CHAT_ID, lambda m: ticket.number in m["text"])
    assert "138****5678" in card["text"]


async def test_the_deep_link_subscribes_and_updates_then_arrive_privately(
    grid: LocalStack,
) -> None:
    sim = grid.sim
    sim.send_text(RESIDENT, CONFIDENT, chat_id=GRID)
    answer = await expect(sim, GRID, lambda m: "start=t" in m["text"])
    payload = answer["text"].split("start=", 1)[1].split()[0]
    sim.send_text(RESIDENT, f"/start {payload}")
    [ticket] = await tickets(grid)
    await expect(sim, RESIDENT, lambda m: ticket.number in m["text"] and "状态" in m["text"])
    assert grid.runtime is not None
    async with grid.runtime.services.sessions() as s:
        from storage.models import User

        user = await s.get(User, RESIDENT)
        assert user is not None and user.started_at is not None
    card = await expect(sim, STAFF_CHAT_ID, lambda m: ticket.number in m["text"])
    from tests.harness import STAFF_ID

    press(grid, STAFF_ID, card, "受理")
    await expect(sim, RESIDENT, lambda m: "已受理" in m["text"] and ticket.number in m["text"])


async def test_a_started_resident_is_answered_privately_and_briefly_in_the_thread(
    grid: LocalStack,
) -> None:
    sim = grid.sim
    sim.send_text(RESIDENT, "/start")
    await expect(sim, RESIDENT, lambda m: "件件有回音" in m["text"])
    sim.send_text(RESIDENT, CONFIDENT, chat_id=GRID)
    answer = await expect(sim, GRID, lambda m: "已登记为工单" in m["text"])
    assert answer["text"].endswith("进展将私信告知。")
    await expect(sim, RESIDENT, lambda m: "工单编号：" in m["text"])


async def test_a_403_for_the_reporter_falls_back_to_the_thread(grid: LocalStack) -> None:
    sim = grid.sim
    sim.send_text(RESIDENT, "/start")
    await expect(sim, RESIDENT, lambda m: "件件有回音" in m["text"])
    sim.block(RESIDENT)
    sim.send_text(RESIDENT, CONFIDENT, chat_id=GRID)
    link = await expect(sim, GRID, lambda m: "start=t" in m["text"], timeout=10)
    assert "请点此开启私信" in link["text"]
    [ticket] = await tickets(grid)
    for _ in range(30):
        [ticket] = await tickets(grid)
        if ticket.reporter_unreachable:
            break
        await asyncio.sleep(0.1)
    assert ticket.reporter_unreachable


async def test_chit_chat_stays_silent(grid: LocalStack) -> None:
    sim = grid.sim
    before = len(sim.bot_messages(GRID))
    for text in ("大家早上好", "今天天气真好啊", "哈哈哈", "谢谢小刘", "👍"):
        sim.send_text(NEIGHBOUR, text, chat_id=GRID)
    sim.send_text(RESIDENT, CONFIDENT, chat_id=GRID)
    await expect(sim, GRID, lambda m: "已登记为工单" in m["text"])
    assert len(sim.bot_messages(GRID)) == before + 1
    assert await ticket_count(grid) == 1


async def _ask(grid: LocalStack, text: str) -> dict[str, object]:
    sim = grid.sim
    since = mark(sim, GRID)
    sim.send_text(RESIDENT, text, chat_id=GRID)
    return await expect(sim, GRID, lambda m: "要反映问题吗" in m["text"], after=since)


UNSURE = "楼上漏水"


async def test_an_unsure_post_is_asked_and_only_author_or_worker_may_answer(
    grid: LocalStack,
) -> None:
    sim = grid.sim
    prompt = await _ask(grid, UNSURE)
    assert set(buttons(prompt)) == {"提交为诉求", "不是"}
    press(grid, NEIGHBOUR, prompt, "提交为诉求")
    await sim.wait_until(lambda: len(sim.callback_answers) == 1)
    assert sim.callback_answers[-1]["text"] == "只有发言人本人或本网格网格员可以确认。"
    assert await ticket_count(grid) == 0
    press(grid, RESIDENT, prompt, "提交为诉求")
    await expect(sim, GRID, lambda m: "已登记为工单" in m["text"])
    [ticket] = await tickets(grid)
    assert ticket.reporter_id == RESIDENT and ticket.worker_id is None
    await sim.wait_until(
        lambda: prompt["message_id"] not in [m["message_id"] for m in sim.bot_messages(GRID)]
    )


async def test_a_worker_can_dismiss_a_prompt(grid: LocalStack) -> None:
    sim = grid.sim
    prompt = await _ask(grid, UNSURE)
    press(grid, WORKER, prompt, "不是")
    await sim.wait_until(
        lambda: prompt["message_id"] not in [m["message_id"] for m in sim.bot_messages(GRID)]
    )
    assert await ticket_count(grid) == 0


async def test_unanswered_prompts_expire_quietly(grid: LocalStack) -> None:
    from bot.services.intake import group_prompts

    sim = grid.sim
    prompt = await _ask(grid, UNSURE)
    assert grid.runtime is not None
    services = grid.runtime.services
    real_clock = services.clock
    services.clock = lambda: real_clock() + __import__("datetime").timedelta(hours=2)
    try:
        assert await group_prompts.expire_prompts(services) == 1
    finally:
        services.clock = real_clock
    await sim.wait_until(
        lambda: prompt["message_id"] not in [m["message_id"] for m in sim.bot_messages(GRID)]
    )
    # A client that still shows the old buttons gets a clear answer and changes nothing.
    from bot.services.context import Person

    late = await group_prompts.answer_prompt(services, Person(RESIDENT, "张阿姨"), 1, "yes")
    assert late.alert and late.text == "该询问已处理或已过期。"
    assert await ticket_count(grid) == 0


async def test_a_worker_reports_a_post_by_replying(grid: LocalStack) -> None:
    sim = grid.sim
    post = sim.send_text(RESIDENT, "我家厨房的水龙头滴水，谁会修", chat_id=GRID)
    sim.send_text(WORKER, "/report", chat_id=GRID, reply_to_message_id=post["message_id"])
    answer = await expect(sim, GRID, lambda m: "已登记为工单" in m["text"])
    assert answer["reply_to_message"]["message_id"] == post["message_id"]
    [ticket] = await tickets(grid)
    assert ticket.reporter_id == RESIDENT and ticket.worker_id == WORKER
    # The same post reported again by 上报 opens nothing new.
    sim.send_text(WORKER, "上报", chat_id=GRID, reply_to_message_id=post["message_id"])
    await asyncio.sleep(0.5)
    assert await ticket_count(grid) == 1


async def test_only_workers_may_report_for_others(grid: LocalStack) -> None:
    sim = grid.sim
    post = sim.send_text(RESIDENT, "我家厨房的水龙头滴水，谁会修", chat_id=GRID)
    sim.send_text(NEIGHBOUR, "/report", chat_id=GRID, reply_to_message_id=post["message_id"])
    await expect(sim, GRID, lambda m: "只有本网格的网格员可以代为上报" in m["text"])
    assert await ticket_count(grid) == 0


async def test_the_worker_hears_every_step_of_a_handed_over_ticket(grid: LocalStack) -> None:
    from tests.harness import STAFF_ID

    sim = grid.sim
    sim.send_text(WORKER, "/start")
    await expect(sim, WORKER, lambda m: "件件有回音" in m["text"])
    post = sim.send_text(RESIDENT, "我家厨房的水龙头滴水，谁会修", chat_id=GRID)
    sim.send_text(WORKER, "/report", chat_id=GRID, reply_to_message_id=post["message_id"])
    await expect(sim, GRID, lambda m: "已登记为工单" in m["text"])
    [ticket] = await tickets(grid)
    card = await expect(sim, STAFF_CHAT_ID, lambda m: ticket.number in m["text"])
    press(grid, STAFF_ID, card, "受理")
    await expect(sim, WORKER, lambda m: "您代为上报的工单" in m["text"] and "已受理" in m["text"])


async def test_forwards_from_a_visible_and_a_hidden_user(grid: LocalStack) -> None:
    sim = grid.sim
    sim.send_text(WORKER, "/start")
    await expect(sim, WORKER, lambda m: "件件有回音" in m["text"])
    visible = {
        "type": "user",
        "date": 1,
        "sender_user": {"id": RESIDENT, "is_bot": False, "first_name": "张阿姨"},
    }
    sim.send_text(WORKER, CONFIDENT, forward_origin=visible)
    await expect(sim, WORKER, lambda m: "已为 张阿姨 登记工单" in m["text"])
    hidden = {"type": "hidden_user", "date": 1, "sender_user_name": "王大爷"}
    sim.send_text(WORKER, "光明路路灯坏了好几天了，晚上看不见路", forward_origin=hidden)
    await expect(sim, WORKER, lambda m: "原发言人「王大爷」未公开账号" in m["text"])
    first, second = await tickets(grid)
    assert first.reporter_id == RESIDENT and first.worker_id == WORKER
    assert second.reporter_id == WORKER and second.reporter_name == "王大爷"
    sim.send_photo(WORKER)
    await expect(sim, WORKER, lambda m: f"照片已补充到工单 {second.number}" in m["text"])
    assert grid.runtime is not None
    async with grid.runtime.services.sessions() as s:
        attached = (await s.execute(select(Attachment.ticket_id))).scalars().all()
    assert attached == [second.id]


async def test_forwards_from_someone_who_is_not_a_worker(grid: LocalStack) -> None:
    sim = grid.sim
    visible = {
        "type": "user",
        "date": 1,
        "sender_user": {"id": RESIDENT, "is_bot": False, "first_name": "张阿姨"},
    }
    sim.send_text(NEIGHBOUR, CONFIDENT, forward_origin=visible)
    await expect(sim, NEIGHBOUR, lambda m: "只有登记的网格员可以代为上报" in m["text"])
    assert await ticket_count(grid) == 0


async def test_a_blocked_user_files_nothing(grid: LocalStack) -> None:
    sim = grid.sim
    post = sim.send_text(NEIGHBOUR, "随便说说", chat_id=GRID)
    sim.send_text(ADMIN_ID, "/block", chat_id=GRID, reply_to_message_id=post["message_id"])
    await expect(sim, GRID, lambda m: "已禁止该用户提交工单" in m["text"])
    sim.send_text(NEIGHBOUR, CONFIDENT, chat_id=GRID)
    sim.send_text(RESIDENT, "光明路路灯坏了好几天了，晚上看不见路", chat_id=GRID)
    await expect(sim, GRID, lambda m: "已登记为工单" in m["text"])
    [ticket] = await tickets(grid)
    assert ticket.reporter_id == RESIDENT
    assert not [t for t in texts_in(grid, GRID) if t.count("已登记为工单") > 1]


SAME = "幸福小区3栋楼道灯坏了，黑乎乎的好几天了"


async def _two_voices(grid: LocalStack) -> tuple[Ticket, dict[str, object]]:
    sim = grid.sim
    for uid in (RESIDENT, NEIGHBOUR):
        sim.send_text(uid, "/start")
        await expect(sim, uid, lambda m: "件件有回音" in m["text"])
    sim.send_text(RESIDENT, CONFIDENT, chat_id=GRID)
    await expect(sim, GRID, lambda m: "已登记为工单" in m["text"])
    second = sim.send_text(NEIGHBOUR, SAME, chat_id=GRID)
    await expect(sim, GRID, lambda m: "该问题已在处理中" in m["text"])
    [ticket] = await tickets(grid)
    return ticket, second


async def test_the_same_problem_from_two_residents_joins_one_ticket(grid: LocalStack) -> None:
    from tests.harness import STAFF_ID

    sim = grid.sim
    ticket, _ = await _two_voices(grid)
    await expect(sim, NEIGHBOUR, lambda m: f"与工单 {ticket.number} 相同" in m["text"])
    card = await expect(sim, STAFF_CHAT_ID, lambda m: "反映人数：2 人" in m["text"])
    press(grid, STAFF_ID, card, "受理")
    for uid in (RESIDENT, NEIGHBOUR):
        await expect(sim, uid, lambda m: "已受理" in m["text"] and ticket.number in m["text"])
    # Both are invited to rate; each rates once; a bad rating from either reopens.
    card = await expect(sim, STAFF_CHAT_ID, lambda m: ticket.number in m["text"])
    press(grid, STAFF_ID, card, "办结")
    prompt = await expect(sim, STAFF_CHAT_ID, lambda m: "请回复工单" in m["text"])
    sim.send_text(
        STAFF_ID, "已修好", chat_id=STAFF_CHAT_ID, reply_to_message_id=prompt["message_id"]
    )
    notices = [
        await expect(sim, uid, lambda m: "已修好" in m["text"]) for uid in (RESIDENT, NEIGHBOUR)
    ]
    await tap_through(sim, RESIDENT, notices[0], "联系过", "已解决", "满意")
    await expect(sim, RESIDENT, lambda m: "感谢您的评价（满意）" in m["text"])
    await tap_through(sim, NEIGHBOUR, notices[1], "没有联系", "未解决", "不满意")
    await expect(sim, NEIGHBOUR, lambda m: "不满意的原因" in m["text"])
    await expect(sim, RESIDENT, lambda m: "重新交办" in m["text"])
    [ticket] = await tickets(grid)
    assert ticket.status == "reopened"
    assert grid.runtime is not None
    async with grid.runtime.services.sessions() as s:
        rows = (await s.execute(select(Followup).order_by(Followup.id))).scalars().all()
    # Each voice keeps their own 回访 of the round.
    assert [(f.rater_id, f.contacted, f.solved, f.satisfaction) for f in rows] == [
        (RESIDENT, True, "resolved", "satisfied"),
        (NEIGHBOUR, False, "unresolved", "dissatisfied"),
    ]


async def test_a_worker_splits_a_wrong_merge(grid: LocalStack) -> None:
    sim = grid.sim
    _, second = await _two_voices(grid)
    sim.send_text(NEIGHBOUR, "/split", chat_id=GRID, reply_to_message_id=second["message_id"])
    await expect(sim, GRID, lambda m: "只有本网格的网格员可以代为上报" in m["text"])
    sim.send_text(WORKER, "/split", chat_id=GRID, reply_to_message_id=second["message_id"])
    done = await expect(sim, GRID, lambda m: "已拆分为单独的工单" in m["text"])
    first, split_off = await tickets(grid)
    assert split_off.number in done["text"] and split_off.reporter_id == NEIGHBOUR
    await sim.wait_until(
        lambda: (
            "反映人数" not in last_with(grid, STAFF_CHAT_ID, f"【工单 {first.number}】")["text"]
        )
    )
    await expect(sim, NEIGHBOUR, lambda m: f"工单编号：{split_off.number}" in m["text"])


async def test_the_bot_is_never_the_loudest_member_of_a_group(
    sqlite_url: str, extractor: Extractor
) -> None:
    from bot.delivery.pacing import Limits

    limits = Limits(quiet_per_minute=3, quiet_window=2.0)
    async with LocalStack(
        database_url=sqlite_url, extractor=extractor, migrate=False, limits=limits
    ) as stack:
        await stack.setup_staff()
        sim = stack.sim
        sim.add_group(GRID, "幸福社区第三网格群")
        sim.send_text(ADMIN_ID, "/bind_grid 幸福社区第三网格", chat_id=GRID)
        await expect(sim, GRID, lambda m: "网格群「幸福社区第三网格」" in m["text"])
        places = ["光明路", "建设路", "人民路", "胜利路", "中山路", "解放路", "和平路"]
        for i, place in enumerate(places):
            sim.add_user(6000 + i, f"居民{i}")
            sim.send_text(6000 + i, f"{place}{i + 1}号门口的路灯坏了好几天了", chat_id=GRID)
        await sim.wait_until(lambda: len(_acked(stack)) == len(places), timeout=15)
        answers = [m for m in sim.bot_messages(GRID) if "已登记为工单" in m["text"]]
        assert len(answers) <= 3 + 2  # three at once, the rest batched into few messages
        assert any(m["text"].count("已登记为工单") > 1 for m in answers)
        assert sim.limit_hits == []


async def test_a_batched_answer_still_points_at_each_post_it_answers(
    sqlite_url: str, extractor: Extractor
) -> None:
    from bot.delivery.pacing import Limits

    limits = Limits(quiet_per_minute=1, quiet_window=2.0)
    async with LocalStack(
        database_url=sqlite_url, extractor=extractor, migrate=False, limits=limits
    ) as stack:
        await stack.setup_staff()
        sim = stack.sim
        sim.add_group(GRID, "幸福社区第三网格群")
        sim.send_text(ADMIN_ID, "/bind_grid 幸福社区第三网格", chat_id=GRID)
        await expect(sim, GRID, lambda m: "网格群「幸福社区第三网格」" in m["text"])
        places = ["光明路", "建设路", "人民路", "胜利路"]
        posts = {}
        for i, place in enumerate(places):
            sim.add_user(6100 + i, f"居民{i}")
            text = f"{place}{i + 1}号门口的路灯坏了好几天了"
            posts[sim.send_text(6100 + i, text, chat_id=GRID)["message_id"]] = place
        await sim.wait_until(lambda: len(_acked(stack)) == len(places), timeout=15)
        answers = [m for m in sim.bot_messages(GRID) if "已登记为工单" in m["text"]]
        batched = [m for m in answers if m["text"].count("已登记为工单") > 1]
        assert batched
        linked: set[int] = set()
        for message in batched:
            assert message["reply_to_message"]["message_id"] in posts
            urls = [e["url"] for e in message.get("entities", []) if e["type"] == "text_link"]
            assert len(urls) == message["text"].count("已登记为工单")
            linked.update(int(url.rsplit("/", 1)[1]) for url in urls)
            assert all(url.startswith("https://t.me/c/2000000001/") for url in urls)
            assert "居民" not in message["text"]  # no resident's name echoed
        single = {m["reply_to_message"]["message_id"] for m in answers if m not in batched}
        assert linked | single == set(posts)


def _acked(stack: LocalStack) -> set[str]:
    import re

    found: set[str] = set()
    for m in stack.sim.bot_messages(GRID):
        found.update(re.findall(r"工单 (\d{8}-\d{4,})", m.get("text") or ""))
    return found


async def test_a_flood_of_identical_posts_opens_one_ticket(grid: LocalStack) -> None:
    sim = grid.sim
    for uid in (RESIDENT, NEIGHBOUR, WORKER, RESIDENT):
        sim.send_text(uid, CONFIDENT, chat_id=GRID)
    # A different post after the flood: the group is read in order, so when it is answered
    # the flood has been read too.
    sim.send_text(NEIGHBOUR, "光明路路灯坏了好几天了，晚上看不见路", chat_id=GRID)
    await expect(sim, GRID, lambda m: "已登记为工单" in m["text"] and "0002" in m["text"])
    assert await ticket_count(grid) == 2
    answers = [t for t in texts_in(grid, GRID) if "已登记为工单" in t or "已在处理中" in t]
    assert len(answers) == 2


async def test_a_forwarded_post_with_a_photo_is_opened_with_the_photo(grid: LocalStack) -> None:
    sim = grid.sim
    sim.send_text(WORKER, "/start")
    await expect(sim, WORKER, lambda m: "件件有回音" in m["text"])
    visible = {
        "type": "user",
        "date": 1,
        "sender_user": {"id": RESIDENT, "is_bot": False, "first_name": "张阿姨"},
    }
    sim.send_photo(WORKER, caption=CONFIDENT, forward_origin=visible)
    await expect(sim, WORKER, lambda m: "已为 张阿姨 登记工单" in m["text"])
    [ticket] = await tickets(grid)
    assert ticket.reporter_id == RESIDENT and ticket.worker_id == WORKER
    assert grid.runtime is not None
    for _ in range(30):
        async with grid.runtime.services.sessions() as s:
            attached = (await s.execute(select(Attachment.kind))).scalars().all()
        if attached:
            break
        await asyncio.sleep(0.1)
    assert attached == ["photo"]
