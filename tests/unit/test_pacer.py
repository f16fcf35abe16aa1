"""The outbox pacing follows Telegram's limits."""

from __future__ import annotations

import pytest

from bot.delivery import Limits, Pacer


def test_private_chat_one_per_second() -> None:
    pacer = Pacer(Limits())
    assert pacer.wait(5, 100.0) == 0
    pacer.record(5, 100.0)
    assert 0.9 < pacer.wait(5, 100.05) <= 1.0
    assert pacer.wait(6, 100.05) == 0
    assert pacer.wait(5, 101.0) == 0


def test_group_twenty_per_minute() -> None:
    pacer = Pacer(Limits())
    for i in range(20):
        assert pacer.wait(-1, 10.0 + i) == 0
        pacer.record(-1, 10.0 + i)
    assert pacer.wait(-1, 30.0) == 40.0
    assert pacer.wait(-1, 70.0) == 0


def test_global_thirty_per_second_and_pause() -> None:
    pacer = Pacer(Limits())
    for _ in range(30):
        pacer.record_global(5.0)
    assert pacer.global_room(5.5) == 0
    # a second plus the margin: arrivals that travelled for different times stay under 30/s
    assert pacer.global_wait(5.5) == pytest.approx(0.6)
    assert pacer.global_room(6.01) == 0
    assert pacer.global_room(6.11) == 30
    exact = Pacer(Limits(global_margin=0.0))
    for _ in range(30):
        exact.record_global(5.0)
    assert exact.global_wait(5.5) == 0.5 and exact.global_room(6.01) == 30
    pacer.pause(99, 20.0)
    assert pacer.wait(99, 10.0) == 10.0
