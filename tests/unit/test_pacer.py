"""The outbox pacing follows Telegram's limits, shared by all instances through the coordinator."""

from __future__ import annotations

import asyncio

import pytest

from bot.delivery.pacing import Limits, Pacer
from storage.coordination.memory import MemoryCoordinator, MemoryStore


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def pacer_on(store: MemoryStore, limits: Limits | None = None) -> Pacer:
    return Pacer(limits or Limits(), MemoryCoordinator(store))


async def test_private_chat_one_per_second() -> None:
    clock = Clock()
    pacer = pacer_on(MemoryStore(clock))
    assert await pacer.waits([(5, False)], clock.now) == [0.0]
    await pacer.record(5, quiet=False)
    clock.now += 0.05
    wait, other = await pacer.waits([(5, False), (6, False)], clock.now)
    assert 0.9 < wait <= 1.0 and other == 0.0
    clock.now += 0.96
    assert await pacer.waits([(5, False)], clock.now) == [0.0]


async def test_group_twenty_per_window_with_a_margin_over_the_minute() -> None:
    clock = Clock()
    pacer = pacer_on(MemoryStore(clock))
    for _ in range(20):
        assert await pacer.waits([(-1, False)], clock.now) == [0.0]
        await pacer.record(-1, quiet=False)
        clock.now += 1.0
    [wait] = await pacer.waits([(-1, False)], clock.now)
    assert wait == pytest.approx(100.0 + Limits().group_window - clock.now)
    assert wait > 60.0 - 20.0  # later than an exact minute would allow


async def test_quiet_answers_in_a_group_are_held_beyond_their_own_limit() -> None:
    clock = Clock()
    pacer = pacer_on(MemoryStore(clock), Limits(quiet_per_minute=2))
    for _ in range(2):
        await pacer.record(-7, quiet=True)
    [quiet, loud] = await pacer.waits([(-7, True), (-7, False)], clock.now)
    assert quiet > 50.0 and loud == 0.0


async def test_the_overall_schedule_is_shared_by_two_instances() -> None:
    clock = Clock()
    store = MemoryStore(clock)
    first, second = pacer_on(store), pacer_on(store)
    interval = Limits().interval
    assert interval == pytest.approx(1 / 30)  # the arrival guard, not a margin, keeps the limit
    waits = []
    for i in range(60):
        pacer = first if i % 2 else second
        waits.append(await pacer.coordinator.reserve("pace:global", interval))
    # 60 sends from two instances take two seconds between them, evenly spaced.
    assert waits == pytest.approx([i * interval for i in range(60)])


async def test_a_429_pause_holds_only_that_chat() -> None:
    clock = Clock()
    pacer = pacer_on(MemoryStore(clock))
    pacer.pause(9, clock.now + 3.0)
    assert await pacer.waits([(9, False), (10, False)], clock.now) == [3.0, 0.0]


async def test_a_message_leaves_only_a_second_after_the_limits_worth_were_answered() -> None:
    pacer = Pacer(Limits(per_second=3, global_margin=0.0, flight_seconds=5.0))
    loop = asyncio.get_running_loop()
    places = [await pacer.turn() for _ in range(3)]
    answered = loop.time()
    for place in places:
        await pacer.landed(place, answered)
    await pacer.turn()
    # The third left 2/3 s after the first; spacing alone would let the fourth go 1/3 s later,
    # but three may have arrived as late as their answers: the fourth waits a second after.
    assert 1.0 <= loop.time() - answered < 1.3
