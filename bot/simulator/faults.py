"""Telegram misbehaving on purpose: calls that fail or answer late, for the fault tests."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from .state import SimulatorState


@dataclass
class _Fault:
    method: str
    error_code: int
    description: str
    times: int
    retry_after: int | None
    chat_id: int | None


class Faults(SimulatorState):
    """Failures and delays the tests arrange for the next calls of a method."""

    _faults: list[_Fault]
    _delays: list[list[Any]]  # [method, seconds, times, delivered]
    _in_flight: int

    # --- faults -------------------------------------------------------------------------

    def fail_next(self, method: str, error_code: int, description: str, *, times: int = 1,
                  retry_after: int | None = None, chat_id: int | None = None) -> None:
        """Make the next ``times`` calls of ``method`` (to ``chat_id`` if given) fail so."""
        self._faults.append(_Fault(method, error_code, description, times, retry_after, chat_id))

    def delay_next(
        self, method: str, *, seconds: float, times: int = 1, delivered: bool = False
    ) -> None:
        """Hold the next ``times`` calls of ``method`` for ``seconds`` before answering; with
        ``delivered`` the call takes effect at once (people see the message) and only its
        answer to the bot is late, as on a slow network."""
        self._delays.append([method.lower(), seconds, times, delivered])

    def in_flight(self) -> int:
        """How many held (delayed) calls are waiting to be answered right now."""
        return self._in_flight

    async def _maybe_delay(self, method: str, *, delivered: bool = False) -> None:
        for entry in self._delays:
            if entry[0] == method.lower() and entry[2] > 0 and entry[3] == delivered:
                entry[2] -= 1
                self._in_flight += 1
                self._bump()
                try:
                    await asyncio.sleep(entry[1])
                finally:
                    self._in_flight -= 1
                return

    def _take_fault(self, method: str, params: dict[str, Any]) -> _Fault | None:
        for fault in self._faults:
            if fault.method.lower() != method.lower() or fault.times <= 0:
                continue
            if fault.chat_id is not None and params.get("chat_id") != fault.chat_id:
                continue
            fault.times -= 1
            if fault.times <= 0:
                self._faults.remove(fault)
            return fault
        return None
