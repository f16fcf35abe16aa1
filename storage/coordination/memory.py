"""The in-process coordinator: one instance alone, or tests playing several instances."""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import secrets
import time
from collections import deque
from dataclasses import dataclass, field

from storage.coordination.base import (
    Booking,
    Callback,
    Clock,
    Coordinator,
    HitResult,
    Lease,
    check_ttl,
    check_window,
    run_callback,
)

_SWEEP_EVERY = 1024


@dataclass
class _Window:
    seconds: float
    times: deque[float] = field(default_factory=deque)


class MemoryStore:
    """The shared state behind one or more MemoryCoordinators (one "Redis" in process)."""

    def __init__(self, clock: Clock = time.monotonic) -> None:
        """Create an empty store reading time from `clock`."""
        self.clock = clock
        self.windows: dict[str, _Window] = {}
        self.seen: dict[str, float] = {}
        self.seen_expiry: list[tuple[float, str]] = []
        self.leases: dict[str, tuple[str, float]] = {}
        self.schedules: dict[str, float] = {}
        self.places: dict[str, dict[str, float]] = {}
        self.members: set[MemoryCoordinator] = set()
        self.ops = 0

    def prune(self, now: float) -> None:
        """Drop expired seen-keys and, now and then, empty rate windows and leases."""
        while self.seen_expiry and self.seen_expiry[0][0] <= now:
            expiry, key = heapq.heappop(self.seen_expiry)
            if self.seen.get(key) == expiry:
                del self.seen[key]
        self.ops += 1
        if self.ops % _SWEEP_EVERY:
            return
        for key in [k for k, w in self.windows.items() if _trim(w, now) == 0]:
            del self.windows[key]
        for name in [n for n, (_, exp) in self.leases.items() if exp <= now]:
            del self.leases[name]


def _trim(window: _Window, now: float) -> int:
    """Drop hits that left the window; return how many remain."""
    times = window.times
    edge = now - window.seconds
    while times and times[0] <= edge:
        times.popleft()
    return len(times)


def _wait(window: _Window, limit: int, now: float) -> float:
    """Seconds until the window holds fewer than `limit` hits (call after `_trim`)."""
    excess = len(window.times) - limit
    if excess < 0:
        return 0.0
    return max(window.times[excess] + window.seconds - now, 0.0)


class MemoryCoordinator(Coordinator):
    """In-process coordinator; coordinators sharing a MemoryStore behave as one cluster."""

    def __init__(self, store: MemoryStore | None = None, *, clock: Clock | None = None) -> None:
        """Use `store` (shared with other coordinators) or a fresh one reading `clock`."""
        if store is not None and clock is not None:
            raise ValueError("pass a clock to the MemoryStore, not to a coordinator sharing it")
        self.store = store if store is not None else MemoryStore(clock or time.monotonic)
        self._callbacks: dict[str, list[Callback]] = {}
        self._inbox: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    def _now(self) -> float:
        now = self.store.clock()
        self.store.prune(now)
        return now

    async def hit(self, key: str, window_seconds: float, limit: int) -> HitResult:
        """Record a hit on `key` if fewer than `limit` happened in the last window."""
        check_window(window_seconds, limit)
        now = self._now()
        window = self.store.windows.setdefault(key, _Window(window_seconds))
        window.seconds = window_seconds
        count = _trim(window, now)
        if count < limit:
            window.times.append(now)
            return HitResult(True, count + 1, 0.0)
        return HitResult(False, count, _wait(window, limit, now))

    async def peek_wait(self, key: str, window_seconds: float, limit: int) -> float:
        """Return seconds until a hit on `key` would be allowed (0 if now), recording nothing."""
        check_window(window_seconds, limit)
        now = self._now()
        window = self.store.windows.get(key)
        if window is None:
            return 0.0
        window.seconds = window_seconds
        _trim(window, now)
        return _wait(window, limit, now)

    async def reserve(self, key: str, interval: float) -> float:
        """Take the next slot of a schedule spaced `interval` apart; return seconds until it."""
        now = self._now()
        start = max(now, self.store.schedules.get(key, 0.0))
        self.store.schedules[key] = start + interval
        return start - now

    async def peek_counts(self, windows: list[tuple[str, float, int]]) -> list[tuple[float, int]]:
        """For several (key, window_seconds, limit) at once: the wait and the hits counted."""
        found = []
        for key, seconds, limit in windows:
            wait = await self.peek_wait(key, seconds, limit)
            window = self.store.windows.get(key)
            found.append((wait, 0 if window is None else len(window.times)))
        return found

    async def book(
        self, key: str, interval: float, limit: int, flight_seconds: float, horizon: float
    ) -> Booking:
        """Take the next slot, `interval` after the last one, at which fewer than `limit`
        places are held, with a place of its own; none if that is over `horizon` away."""
        check_window(flight_seconds, limit)
        now = self._now()
        places = self.store.places.setdefault(key, {})
        for token in [t for t, until in places.items() if until <= now]:
            del places[token]
        start = max(now, self.store.schedules.get(key, 0.0))
        if len(places) >= limit:
            start = max(start, sorted(places.values())[len(places) - limit])
        if start - now > horizon:
            return Booking(None, start - now)
        token = secrets.token_hex(8)
        places[token] = start + flight_seconds
        self.store.schedules[key] = start + interval
        return Booking(token, start - now)

    async def settle(self, key: str, token: str, hold_seconds: float) -> None:
        """Hold the place `token` for `hold_seconds` from now (0 or less frees it now)."""
        places = self.store.places.get(key, {})
        if token not in places:
            return
        if hold_seconds <= 0:
            del places[token]
        else:
            places[token] = self._now() + hold_seconds

    async def first_seen(self, key: str, ttl_seconds: float) -> bool:
        """Return True the first time `key` is seen within `ttl_seconds`, else False."""
        check_ttl(ttl_seconds)
        now = self._now()
        expiry = self.store.seen.get(key)
        if expiry is not None and expiry > now:
            return False
        expiry = now + ttl_seconds
        self.store.seen[key] = expiry
        heapq.heappush(self.store.seen_expiry, (expiry, key))
        return True

    async def acquire(self, name: str, ttl_seconds: float) -> Lease | None:
        """Take the lock `name` for `ttl_seconds`, or return None if someone holds it."""
        check_ttl(ttl_seconds)
        now = self._now()
        held = self.store.leases.get(name)
        if held is not None and held[1] > now:
            return None
        lease = Lease(name, secrets.token_hex(16))
        self.store.leases[name] = (lease.token, now + ttl_seconds)
        return lease

    async def renew(self, lease: Lease, ttl_seconds: float) -> bool:
        """Extend `lease` to `ttl_seconds` from now if it is still ours."""
        check_ttl(ttl_seconds)
        now = self._now()
        held = self.store.leases.get(lease.name)
        if held is None or held[0] != lease.token or held[1] <= now:
            return False
        self.store.leases[lease.name] = (lease.token, now + ttl_seconds)
        return True

    async def release(self, lease: Lease) -> None:
        """Release `lease` if it is still ours."""
        held = self.store.leases.get(lease.name)
        if held is not None and held[0] == lease.token:
            del self.store.leases[lease.name]

    async def publish(self, channel: str, message: str) -> None:
        """Broadcast `message` on `channel` to every started coordinator on this store."""
        for member in self.store.members:
            if channel in member._callbacks:
                member._inbox.put_nowait((channel, message))

    def subscribe(self, channel: str, callback: Callback) -> None:
        """Register `callback` to receive messages published on `channel`."""
        self._callbacks.setdefault(channel, []).append(callback)

    async def start(self) -> None:
        """Join the store's broadcast group and start delivering messages."""
        if self._task is not None:
            return
        self.store.members.add(self)
        self._task = asyncio.create_task(self._deliver(), name="huiyin-coordination-memory")

    async def close(self) -> None:
        """Leave the broadcast group and stop delivering."""
        self.store.members.discard(self)
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _deliver(self) -> None:
        while True:
            channel, message = await self._inbox.get()
            for callback in list(self._callbacks.get(channel, ())):
                run_callback(callback, channel, message)
