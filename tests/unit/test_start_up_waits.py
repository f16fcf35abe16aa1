"""A bot (re)started during a database outage waits for the database at every start-up step."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import DBAPIError, OperationalError

from bot.app import when_reachable


async def test_a_start_up_step_is_retried_while_the_database_is_unreachable() -> None:
    failures: list[BaseException] = [
        OperationalError("SELECT 1", {}, ConnectionRefusedError(111, "refused")),
        ConnectionResetError(104, "reset by peer"),
    ]
    # The driver's own error, wrapped: only its cause says the connection went away.
    wrapped = DBAPIError("SELECT 1", {}, Exception("connection was closed in the middle"))
    wrapped.__cause__ = OSError("connection lost")
    failures.append(wrapped)
    calls = 0

    async def step() -> str:
        nonlocal calls
        calls += 1
        if failures:
            raise failures.pop(0)
        return "ready"

    assert await when_reachable(step) == "ready"
    assert calls == 4


async def test_any_other_error_stops_start_up_at_once() -> None:
    calls = 0

    async def step() -> None:
        nonlocal calls
        calls += 1
        raise ValueError("a bug")

    with pytest.raises(ValueError):
        await when_reachable(step)
    assert calls == 1
