"""Outbound through real PTB over HTTP: limits held by several instances together, digests when
a staff chat is at its ceiling, and which refusals are final."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import insert, select
from telegram import Bot
from telegram.request import HTTPXRequest

from bot.buttons import CardPress
from bot.delivery.pacing import Limits
from bot.delivery.sender import OutboxSender
from bot.domain import Action
from bot.intents import Card, Key, Notice, dumps
from bot.simulator import BotAPISimulator
from bot.simulator.limits import FloodLimits
from bot.simulator.world import ChatState
from nlp import Extractor
from storage.coordination.base import Coordinator
from storage.coordination.memory import MemoryCoordinator, MemoryStore
from storage.coordination.redis import RedisCoordinator
from storage.db import make_engine, make_sessionmaker
from storage.models import Base, OutboxMessage, Ticket, User, utcnow
from tests.conftest import REDIS_URL
from tests.e2e.helpers import press, report, texts_in, the_ticket
from tests.harness import RESIDENT_ID, STAFF_CHAT_ID, STAFF_ID, LocalStack, expect
from tests.integration.test_coordination import _delete_prefix, _require_redis

REPORTS = [
    "幸福小区{n}栋楼道的灯坏了一个星期了，晚上漆黑一片",
    "光明路{n}号门口的下水道堵了好几天，污水漫到路面上",
]
PER_SECOND = 10  # the simulator's overall limit in the pacing test, so timing noise stays small


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def shared(request: pytest.FixtureRequest) -> AsyncIterator[list[Coordinator]]:
    """Two coordinators sharing one backend: two instances of the bot."""
    prefix = f"huiyin-test:{uuid.uuid4().hex}:"
    if request.param == "memory":
        store = MemoryStore()
        pair: list[Coordinator] = [MemoryCoordinator(store), MemoryCoordinator(store)]
    else:
        await _require_redis()
        pair = [RedisCoordinator(REDIS_URL, prefix=prefix) for _ in range(2)]
    try:
        yield pair
    finally:
        for coordinator in pair:
            await coordinator.close()
        if request.param == "redis":
            await _delete_prefix(prefix)


def _peak(times: list[float]) -> int:
    best, start = 0, 0
    for end, t in enumerate(sorted(times)):
        while t - sorted(times)[start] >= 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best


async def test_two_instances_together_stay_under_the_overall_limit_however_requests_are_delayed(
    sqlite_url: str, shared: list[Coordinator]
) -> None:
    sim = BotAPISimulator(enforce_limits=True)
    sim.limits = FloodLimits(global_per_second=PER_SECOND)
    # Every fourth request is held 0.3 s on the way, before Telegram counts it: evenly spaced
    # departures then arrive bunched (the held one lands among the next ten).
    for _ in range(10):
        sim.delay_next("sendMessage", seconds=0.0, times=3)
        sim.delay_next("sendMessage", seconds=0.3, times=1)
    arrivals: list[float] = []
    check = sim.methods.before_post

    def arrived(method: str, state: ChatState) -> None:
        check(method, state)
        arrivals.append(sim.clock())

    sim.methods.before_post = arrived
    people = list(range(9000, 9040))
    for user in people:
        sim.add_user(user, f"居民{user}", started=True)
    engine = make_engine(sqlite_url)
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
        now = utcnow()
        await conn.execute(
            insert(OutboxMessage),
            [
                {
                    "idempotency_key": f"n{user}",
                    "chat_id": user,
                    "kind": "notice",
                    "payload": dumps(Notice(f"通知 {user}")),
                    "status": "pending",
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                }
                for user in people
            ],
        )
    sessions = make_sessionmaker(engine)
    await sim.start()
    bots = [
        Bot(
            sim.token, base_url=f"{sim.root_url}/bot", request=HTTPXRequest(connection_pool_size=8)
        )
        for _ in shared
    ]
    senders = [
        OutboxSender(bot, sessions, limits=Limits(per_second=PER_SECOND), coordinator=c)
        for bot, c in zip(bots, shared, strict=True)
    ]
    try:
        for bot, coordinator in zip(bots, shared, strict=True):
            await bot.initialize()
            await coordinator.start()
        for sender in senders:
            sender.start()
        await sim.wait_until(lambda: len(arrivals) >= len(people), timeout=30)
        await asyncio.sleep(0.5)
    finally:
        for sender in senders:
            await sender.stop()
        for bot in bots:
            await bot.shutdown()
        await sim.stop()
        await engine.dispose()
    # Each resident heard once, both instances sent, and Telegram never refused a message:
    # alone, each instance would have sent PER_SECOND a second; spaced evenly without the
    # arrival guard, the held requests would have made 11 arrive within a second.
    assert Counter(chat for chat, _ in sim.feed) == Counter(people)
    assert all(sender.sent_count > 0 for sender in senders)
    assert sim.limit_hits == []
    assert _peak(arrivals) <= PER_SECOND


async def test_cards_beyond_a_staff_chats_ceiling_arrive_as_a_digest_that_stays_live(
    sqlite_url: str, extractor: Extractor
) -> None:
    # A small ceiling (4 a window) makes the morning rush of a busy staff chat quick to play.
    async with LocalStack(
        database_url=sqlite_url,
        extractor=extractor,
        migrate=False,
        limits=Limits(group_per_minute=4, group_window=4.0),
    ) as stack:
        await stack.setup_staff()
        residents = list(range(8100, 8110))
        for i, user in enumerate(residents):
            stack.sim.add_user(user, f"居民{i}")
            stack.sim.send_text(user, REPORTS[i % 2].format(n=i + 1))
        numbers = []
        for user in residents:
            ack = await expect(stack.sim, user, lambda m: "工单编号：" in m.get("text", ""))
            numbers.append(ack["text"].split("工单编号：", 1)[1].split()[0])

        def cards() -> list[str]:
            return [t for t in texts_in(stack, STAFF_CHAT_ID) if "【工单" in t]

        await stack.sim.wait_until(
            lambda: all(any(n in t for t in cards()) for n in numbers), timeout=30
        )
        digests = [m for m in stack.sim.bot_messages(STAFF_CHAT_ID) if "新工单汇总" in m["text"]]
        assert digests, texts_in(stack, STAFF_CHAT_ID)
        assert len(cards()) < len(numbers)  # fewer messages than tickets
        digest = digests[0]
        inside = [n for n in numbers if n in digest["text"]]
        assert len(inside) >= 2
        # Every ticket in the digest keeps its own buttons, named by its number.
        labels = [b["text"] for row in digest["reply_markup"]["inline_keyboard"] for b in row]
        assert all(any(label.startswith(n) for label in labels) for n in inside)
        # Accepting one ticket from the digest rewrites its entry; the others stay live.
        first, other = inside[0], inside[1]
        press(stack, STAFF_ID, digest, f"{first}·受理")
        await expect(
            stack.sim,
            STAFF_CHAT_ID,
            lambda m: (
                m["message_id"] == digest["message_id"]
                and not any(
                    b["text"] == f"{first}·受理"
                    for row in m.get("reply_markup", {}).get("inline_keyboard", [])
                    for b in row
                )
            ),
            timeout=15,
        )
        [now] = [
            m
            for m in stack.sim.bot_messages(STAFF_CHAT_ID)
            if m["message_id"] == digest["message_id"]
        ]
        assert any(
            b["text"] == f"{other}·受理"
            for row in now["reply_markup"]["inline_keyboard"]
            for b in row
        )
        assert (await the_ticket(stack, first)).status == "accepted"
        assert (await the_ticket(stack, other)).status != "accepted"


async def test_a_staff_chat_that_refuses_for_a_while_gets_its_card_once_it_works(
    stack: LocalStack,
) -> None:
    sim = stack.sim
    sim.add_user(RESIDENT_ID, "张阿姨")
    sim.remove_bot(STAFF_CHAT_ID)  # 403 "bot was kicked": not final, the chat may come back
    number = await report(stack, RESIDENT_ID, REPORTS[0].format(n=3))
    await sim.wait_until(
        lambda: any(
            c[0] == "sendMessage" and str(c[1].get("chat_id")) == str(STAFF_CHAT_ID)
            for c in sim.calls
        ),
        timeout=10,
    )
    assert not [t for t in texts_in(stack, STAFF_CHAT_ID) if number in t]
    assert stack.runtime is not None
    async with stack.runtime.services.sessions() as s:
        statuses = set(
            (
                await s.execute(
                    select(OutboxMessage.status).where(
                        OutboxMessage.chat_id == STAFF_CHAT_ID, OutboxMessage.kind == "card"
                    )
                )
            ).scalars()
        )
    assert statuses == {"pending"}  # kept, not given up
    sim.world.chat_state(STAFF_CHAT_ID).bot_removed = False  # the bot is added back
    await expect(sim, STAFF_CHAT_ID, lambda m: number in m.get("text", ""), timeout=20)


@pytest.mark.parametrize(
    ("code", "description"),
    [(403, "Forbidden: user is deactivated"), (400, "Bad Request: chat not found")],
    ids=["deactivated", "chat-not-found"],
)
async def test_a_deactivated_or_vanished_reporter_is_final_and_the_card_says_so(
    stack: LocalStack, code: int, description: str
) -> None:
    sim = stack.sim
    sim.add_user(RESIDENT_ID, "张阿姨")
    sim.fail_next("sendMessage", code, description, chat_id=RESIDENT_ID)
    sim.send_text(RESIDENT_ID, REPORTS[1].format(n=8))
    card = await expect(sim, STAFF_CHAT_ID, lambda m: "光明路" in m.get("text", ""))
    number = card["text"].split("【工单 ", 1)[1].split("】")[0]
    await expect(
        sim,
        STAFF_CHAT_ID,
        lambda m: number in m.get("text", "") and "无法私信" in m.get("text", ""),
        timeout=10,
    )
    assert (await the_ticket(stack, number)).reporter_unreachable
    assert not [t for t in texts_in(stack, RESIDENT_ID) if "工单编号：" in t]


async def test_a_staff_chat_kept_busy_by_one_instance_gets_a_digest_from_the_other(
    sqlite_url: str, shared: list[Coordinator]
) -> None:
    # A small ceiling (4 a window, so "busy" from 2) keeps the busy staff chat quick to play.
    limits = Limits(group_per_minute=4, group_window=30.0)
    group = -100_555_0001
    sim = BotAPISimulator()
    sim.add_group(group, "接单群")
    engine = make_engine(sqlite_url)
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    sessions = make_sessionmaker(engine)
    now = utcnow()
    numbers = [f"20261201-{n:04d}" for n in range(1, 7)]
    ids: dict[str, int] = {}
    async with sessions.begin() as s:
        s.add(User(id=RESIDENT_ID, first_name="张阿姨"))
        await s.flush()
        for n, number in enumerate(numbers):
            ticket = Ticket(
                number=number,
                reporter_id=RESIDENT_ID,
                source_chat_id=RESIDENT_ID,
                source_message_id=n + 1,
                text="楼道灯坏了",
                category="市容环境",
                intent="求助",
                urgency="一般",
                status="new",
                accept_by=now + timedelta(hours=2),
                deadline_at=now + timedelta(days=3),
            )
            s.add(ticket)
            await s.flush()
            ids[number] = ticket.id

    async def queue(batch: list[str]) -> None:
        async with sessions.begin() as s:
            for number in batch:
                press = CardPress(Action.ACCEPT, ids[number])
                card = Card(f"【工单 {number}】楼道灯坏了", ((Key("受理", press),),), number)
                s.add(
                    OutboxMessage(
                        idempotency_key=f"card:{number}",
                        chat_id=group,
                        ticket_id=ids[number],
                        kind=card.kind.value,
                        payload=dumps(card),
                        status="pending",
                        attempts=0,
                        next_attempt_at=utcnow(),
                        created_at=utcnow(),
                    )
                )

    await sim.start()
    bots = [Bot(sim.token, base_url=f"{sim.root_url}/bot") for _ in shared]
    first, second = (
        OutboxSender(bot, sessions, limits=limits, coordinator=c)
        for bot, c in zip(bots, shared, strict=True)
    )
    try:
        for bot, coordinator in zip(bots, shared, strict=True):
            await bot.initialize()
            await coordinator.start()
        # One instance posts two cards: the chat is at half its ceiling…
        await queue(numbers[:2])
        first.start()
        await sim.wait_until(lambda: len(sim.bot_messages(group)) == 2, timeout=10)
        await first.stop()
        # …so the other instance, which has posted nothing there itself, sends a digest.
        await queue(numbers[2:])
        second.start()
        await sim.wait_until(lambda: len(sim.bot_messages(group)) >= 3, timeout=10)
        await asyncio.sleep(0.5)
    finally:
        await first.stop()
        await second.stop()
        for bot in bots:
            await bot.shutdown()
        await sim.stop()
        await engine.dispose()
    posted = sim.bot_messages(group)
    assert [m["text"] for m in posted[:2]] == [f"【工单 {n}】楼道灯坏了" for n in numbers[:2]]
    assert len(posted) == 3, [m["text"] for m in posted]
    digest = posted[2]
    assert "新工单汇总" in digest["text"]
    assert all(n in digest["text"] for n in numbers[2:])
    labels = [b["text"] for row in digest["reply_markup"]["inline_keyboard"] for b in row]
    assert labels == [f"{n}·受理" for n in numbers[2:]]
