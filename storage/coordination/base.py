"""The interface every coordinator implements (its semantics: `storage.coordination`)."""

from __future__ import annotations

import abc
import logging
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger("huiyin.coordination")

Callback = Callable[[str], None]
Clock = Callable[[], float]


@dataclass(frozen=True)
class HitResult:
    """Outcome of a rate-limit hit."""

    allowed: bool
    count: int
    retry_after: float


@dataclass(frozen=True)
class Booking:
    """Outcome of `book`: the place's token and seconds until its slot, or None when no slot
    is free within the horizon (and `wait` how far off the first one is, if known)."""

    token: str | None
    wait: float


@dataclass(frozen=True)
class Lease:
    """A held leader lock: the name and the random token that proves ownership."""

    name: str
    token: str


def check_window(window_seconds: float, limit: int) -> None:
    """Refuse a window that is not positive or a limit below one."""
    if window_seconds <= 0:
        raise ValueError(f"window_seconds must be positive, got {window_seconds!r}")
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit!r}")


def check_ttl(ttl_seconds: float) -> None:
    """Refuse an expiry that is not positive."""
    if ttl_seconds <= 0:
        raise ValueError(f"ttl_seconds must be positive, got {ttl_seconds!r}")


def run_callback(callback: Callback, channel: str, message: str) -> None:
    """Run a subscriber's callback, logging (not raising) what it raises."""
    try:
        callback(message)
    except Exception:
        log.exception("subscriber callback %r failed on channel %r", callback, channel)


class Coordinator(abc.ABC):
    """Coordination primitives shared by every instance of the bot."""

    @abc.abstractmethod
    async def hit(self, key: str, window_seconds: float, limit: int) -> HitResult:
        """Record a hit on `key` if fewer than `limit` happened in the last window."""

    @abc.abstractmethod
    async def peek_wait(self, key: str, window_seconds: float, limit: int) -> float:
        """Return seconds until a hit on `key` would be allowed (0 if now), recording nothing."""

    async def peek_many(self, windows: list[tuple[str, float, int]]) -> list[float]:
        """`peek_wait` for several (key, window_seconds, limit) at once, in one round trip."""
        return [await self.peek_wait(key, seconds, limit) for key, seconds, limit in windows]

    @abc.abstractmethod
    async def reserve(self, key: str, interval: float) -> float:
        """Take the next slot of a schedule spaced `interval` apart; return seconds until it."""

    async def peek_counts(self, windows: list[tuple[str, float, int]]) -> list[tuple[float, int]]:
        """For several (key, window_seconds, limit) at once: the wait and the hits counted."""
        return [(await self.peek_wait(key, seconds, limit), 0) for key, seconds, limit in windows]

    @abc.abstractmethod
    async def book(
        self, key: str, interval: float, limit: int, flight_seconds: float, horizon: float
    ) -> Booking:
        """Take the next slot, `interval` after the last one, at which fewer than `limit`
        places are held, with a place of its own; none if that is over `horizon` away."""

    @abc.abstractmethod
    async def settle(self, key: str, token: str, hold_seconds: float) -> None:
        """Hold the place `token` for `hold_seconds` from now (0 or less frees it now)."""

    @abc.abstractmethod
    async def first_seen(self, key: str, ttl_seconds: float) -> bool:
        """Return True the first time `key` is seen within `ttl_seconds`, else False."""

    @abc.abstractmethod
    async def acquire(self, name: str, ttl_seconds: float) -> Lease | None:
        """Take the lock `name` for `ttl_seconds`, or return None if someone holds it."""

    @abc.abstractmethod
    async def renew(self, lease: Lease, ttl_seconds: float) -> bool:
        """Extend `lease` to `ttl_seconds` from now if it is still ours."""

    @abc.abstractmethod
    async def release(self, lease: Lease) -> None:
        """Release `lease` if it is still ours."""

    @abc.abstractmethod
    async def publish(self, channel: str, message: str) -> None:
        """Broadcast `message` on `channel` to every instance, this one included."""

    @abc.abstractmethod
    def subscribe(self, channel: str, callback: Callback) -> None:
        """Register `callback` to receive messages published on `channel`."""

    @abc.abstractmethod
    async def start(self) -> None:
        """Start background delivery of subscribed messages."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Stop background work and release connections."""
