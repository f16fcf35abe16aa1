"""What every part of the simulator shares: its state (set up by `BotAPISimulator.__init__`),
the change counter the tests wait on, and the check of what it produces against the spec."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import ClientSession

from .limits import FloodLimits
from .methods import Methods
from .spec import object_problems
from .world import World

log = logging.getLogger("bot.simulator.server")


@dataclass(eq=False)
class _Pending:
    update: dict[str, Any]
    forced: bool = False  # pushed raw: delivered once even if its update_id is behind offset
    delivered: bool = False


@dataclass
class _Webhook:
    url: str
    secret_token: str | None
    max_connections: int
    last_error_date: int | None = None
    last_error_message: str | None = None


class SimulatorState:
    """The simulator's common state; each part of `BotAPISimulator` builds on it."""

    token: str
    bot_id: int
    bot_username: str
    clock: Callable[[], float]
    world: World
    methods: Methods
    limits: FloodLimits | None
    self_check: bool
    calls: list[tuple[str, dict[str, Any]]]
    limit_hits: list[tuple[str, int, int]]
    spec_violations: list[str]
    _updates: list[_Pending]
    _next_update_id: int
    _allowed_updates: list[str]
    _webhook: _Webhook | None
    delivered: list[dict[str, Any]]
    feed: list[tuple[int, dict[str, Any]]]
    _history: list[tuple[int, int, dict[str, Any]]]
    _transcript: list[str]
    _seq: int
    _last_inbound_seq: int
    _poll_generation: int
    _event: asyncio.Event | None
    _closing: bool
    _session: ClientSession | None

    # --- change notification ------------------------------------------------------------

    def _bump(self) -> int:
        self._seq += 1
        self._notify()
        return self._seq

    def _notify(self) -> None:
        if self._event is not None:
            self._event.set()
            self._event = None

    async def _wait_change(self, timeout: float) -> None:
        if self._event is None:
            self._event = asyncio.Event()
        event = self._event
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(max(timeout, 0)):
                await event.wait()

    def _check(self, type_name: str, obj: Any) -> None:
        if not self.self_check:
            return
        problems = object_problems(type_name, obj)
        if problems:
            text = f"{type_name}: " + "; ".join(problems[:5])
            log.error("simulator produced an object outside the spec: %s", text)
            self.spec_violations.append(text)
