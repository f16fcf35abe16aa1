"""Delivery you can trust: 429 bursts, 403 reporters, a sender killed mid-delivery."""

from __future__ import annotations

import asyncio
from datetime import datetime

from sqlalchemy import select

from bot.delivery.sender import OutboxSender
from bot.intents import Notice
from storage.models import OutboxMessage, TicketEvent
from storage.outbox import enqueue
from tests.e2e.helpers import report, texts_in, the_ticket
from tests.harness import RESIDENT_ID, STAFF_CHAT_ID, LocalStack, expect

REPORT = "幸福小区3栋楼道的灯坏了一个星期了，晚上漆黑一片"


async def all_sent(stack: LocalStack) -> bool:
    """Wait (up to 5 s) until every outbox row is sent; return whether they all were."""
    assert stack.runtime is not None
    for _ in range(50):
        async with stack.runtime.services.sessions() as s:
            states = set((await s.execute(select(OutboxMessage.status))).scalars())
        if states == {"sent"}:
            return True
        await asyncio.sleep(0.1)
    return False


async def test_a_burst_of_429s_is_waited_out_and_everything_arrives(stack: LocalStack) -> None:
    sim = stack.sim
    sim.add_user(RESIDENT_ID, "张阿姨")
    sim.fail_next("sendMessage", 429, "Too Many Requests: retry after 1", times=3, retry_after=1)
    number = await report(stack, RESIDENT_ID, REPORT)
    await expect(sim, STAFF_CHAT_ID, lambda m: number in m.get("text", ""))
    refused = [c for c in sim.calls if c[0] == "sendMessage"]
    assert len(refused) >= 5  # three refusals, then the ack and the card
    assert await all_sent(stack)


async def test_a_403_marks_the_reporter_unreachable_and_stops_retrying(stack: LocalStack) -> None:
    sim = stack.sim
    sim.add_user(RESIDENT_ID, "张阿姨")
    sim.add_user(3001, "邻居")
    sim.block(RESIDENT_ID)
    sim.send_text(RESIDENT_ID, REPORT)
    card = await expect(sim, STAFF_CHAT_ID, lambda m: "幸福小区" in m.get("text", ""))
    number = card["text"].split("【工单 ", 1)[1].split("】")[0]
    ticket = await the_ticket(stack, number)
    await sim.wait_until(
        lambda: (
            len([c for c in sim.calls if c[1].get("chat_id") in (RESIDENT_ID, str(RESIDENT_ID))])
            >= 1
        )
    )
    assert stack.runtime is not None

    async def unreachable() -> bool:
        async with stack.runtime.services.sessions() as s:  # type: ignore[union-attr]
            rows = (
                (
                    await s.execute(
                        select(OutboxMessage.status).where(OutboxMessage.chat_id == RESIDENT_ID)
                    )
                )
                .scalars()
                .all()
            )
            return rows == ["undeliverable"]

    for _ in range(50):
        if await unreachable():
            break
        await asyncio.sleep(0.1)
    assert await unreachable()
    ticket = await the_ticket(stack, number)
    assert ticket.reporter_unreachable
    async with stack.runtime.services.sessions() as s:
        events = (
            (await s.execute(select(TicketEvent.action).where(TicketEvent.ticket_id == ticket.id)))
            .scalars()
            .all()
        )
    assert "undeliverable" in events
    calls_to_blocked = [c for c in sim.calls if str(c[1].get("chat_id")) == str(RESIDENT_ID)]
    await asyncio.sleep(1.5)
    assert len([c for c in sim.calls if str(c[1].get("chat_id")) == str(RESIDENT_ID)]) == len(
        calls_to_blocked
    )
    # Another resident is unaffected.
    other = await report(stack, 3001, "光明路路灯坏了好几天了")
    assert other != number


async def test_killing_the_sender_mid_delivery_loses_nothing(stack: LocalStack) -> None:
    sim = stack.sim
    sim.add_user(RESIDENT_ID, "张阿姨")
    runtime = stack.runtime
    assert runtime is not None
    # Stop the running sender, so the report's messages wait in the outbox.
    await runtime.sender.stop()
    sim.send_text(RESIDENT_ID, REPORT)
    await sim.wait_until(lambda: True)

    async def pending() -> int:
        async with runtime.services.sessions() as s:
            return len(
                (
                    await s.execute(
                        select(OutboxMessage.id).where(OutboxMessage.status == "pending")
                    )
                )
                .scalars()
                .all()
            )

    for _ in range(50):
        if await pending() >= 2:
            break
        await asyncio.sleep(0.1)
    assert await pending() >= 2
    # A sender that claims the rows and dies while the requests are in flight.
    sim.delay_next("sendMessage", seconds=5.0, times=2)
    doomed = OutboxSender(runtime.application.bot, runtime.services.sessions, lease_seconds=1.0)
    doomed.start()
    await sim.wait_until(lambda: sim.in_flight() >= 1, timeout=5)
    await doomed.stop(grace=0.0)  # cancelled mid-request, as a killed process would be
    assert not [t for t in texts_in(stack, RESIDENT_ID) if "工单编号：" in t]
    # After a restart, the lease runs out and the rows go out.
    await stack.stop_bot()
    await stack.start_bot()
    await expect(sim, RESIDENT_ID, lambda m: "工单编号：" in m["text"], timeout=10)
    await expect(sim, STAFF_CHAT_ID, lambda m: "幸福小区" in m["text"], timeout=10)


async def test_network_errors_and_5xx_are_retried_with_backoff(stack: LocalStack) -> None:
    sim = stack.sim
    sim.add_user(RESIDENT_ID, "张阿姨")
    sim.fail_next("sendMessage", 502, "Bad Gateway", times=2, chat_id=RESIDENT_ID)
    sim.fail_next("sendMessage", 500, "Internal Server Error", times=1, chat_id=RESIDENT_ID)
    number = await report(stack, RESIDENT_ID, REPORT)
    assert number
    to_resident = [
        c
        for c in sim.calls
        if c[0] == "sendMessage" and c[1].get("chat_id") in (RESIDENT_ID, str(RESIDENT_ID))
    ]
    assert len(to_resident) == 4  # three failures, then the acknowledgement
    assert await all_sent(stack)


async def test_the_outbox_never_trips_telegrams_flood_limits(
    sqlite_url: str, extractor: object
) -> None:
    async with LocalStack(
        database_url=sqlite_url,
        extractor=extractor,
        migrate=False,  # type: ignore[arg-type]
        enforce_limits=True,
    ) as stack:
        await stack.setup_staff()
        sim = stack.sim
        sim.add_user(RESIDENT_ID, "张阿姨")
        for i in range(6):
            sim.send_text(RESIDENT_ID, f"光明路{i + 1}号门口的路灯坏了好几天了")
        await sim.wait_until(
            lambda: len([t for t in texts_in(stack, RESIDENT_ID) if "工单编号：" in t]) == 6,
            timeout=20,
        )
        await sim.wait_until(
            lambda: len([t for t in texts_in(stack, STAFF_CHAT_ID) if "【工单" in t]) == 6,
            timeout=20,
        )
        assert sim.limit_hits == []


async def test_a_row_committed_while_the_sender_looks_goes_out_at_once(stack: LocalStack) -> None:
    """A wake() that lands while a pass is reading the outbox is not lost to the next sleep."""
    assert stack.runtime is not None
    sim, sender, services = stack.sim, stack.runtime.sender, stack.runtime.services
    sim.add_user(RESIDENT_ID, "张阿姨", started=True)
    real_next_due_in = sender.rows.next_due_in

    async def commit_while_looking(now: datetime) -> float:
        delay = await real_next_due_in(now)  # the pass saw nothing due: it will sleep `delay`
        async with services.sessions.begin() as session:
            await enqueue(
                session, key="wake-race", chat_id=RESIDENT_ID, intent=Notice("刚提交的回音")
            )
        sender.wake()
        sender.rows.next_due_in = real_next_due_in  # type: ignore[method-assign]
        return delay

    sender.rows.next_due_in = commit_while_looking  # type: ignore[method-assign]
    sender.wake()
    started = asyncio.get_running_loop().time()
    await expect(sim, RESIDENT_ID, lambda m: "刚提交的回音" in m.get("text", ""), timeout=2.0)
    assert asyncio.get_running_loop().time() - started < 2.0
