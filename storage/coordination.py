"""Coordination between bot instances: rate limits, de-duplication, leader leases, broadcast.

One abstract interface (`Coordinator`) with two implementations sharing one contract test:

- `MemoryCoordinator`: in-process, for a single instance (no ``HUIYIN_REDIS_URL``). Several
  coordinators may share one `MemoryStore`, which is how tests play "two instances".
- `RedisCoordinator`: redis.asyncio; every instance pointed at the same Redis (and prefix)
  shares limits, seen-keys, leases and broadcasts.

Semantics common to both:

- ``hit``: sliding window. A hit is recorded only if fewer than ``limit`` hits were recorded in
  the last ``window_seconds``; a refused hit is not recorded. ``retry_after`` is the time until
  the oldest counted hit leaves the window (0 when allowed).
- ``reserve``: a shared schedule of slots `interval` apart (a leaky bucket): each call takes
  the next free slot and returns how long to wait for it, so callers on every instance
  together keep to one slot per `interval`.
- ``book``/``settle``: a shared schedule of slots `interval` apart that also holds places
  among requests that may still count at the other end. A slot is given only where fewer than
  ``limit`` places are held; a place is held from its booking while the request is in flight
  (up to ``flight_seconds`` after its slot), then, once ``settle`` says it was answered, for a
  window after the answer. A receiver that counts a request on arrival saw it before its answer
  came back, so no window of arrivals holds more than ``limit``, however requests are delayed
  on the way.
- ``first_seen``: SET NX with expiry; True once per key per ``ttl_seconds``.
- leases: one holder per name; a lease is a random token, so only the holder can renew or
  release it; an expired lease is gone (renew fails, anyone may acquire).
- pub/sub: fire-and-forget, at-most-once, delivered to every started coordinator (this one
  included). Callbacks registered before ``start()`` are active when it returns. Callbacks are
  plain functions run on the coordinator's background task; keep them short (set an event,
  put on a queue). Messages published while an instance is disconnected are lost to it.

Redis outage policy (the bot must keep running): ``hit``/``peek_wait`` fail open (allowed / 0),
``first_seen`` fails open (True), ``reserve`` and ``book`` fall back to this process's own
schedule and places, ``acquire`` returns None, ``renew`` returns False, ``release`` and
``publish`` do nothing. Each kind of failure is logged at most once per minute on the
``huiyin.coordination`` logger; after a connection failure Redis is not retried for
``breaker_seconds`` so a dead server costs no time per call.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import heapq
import logging
import math
import secrets
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.exceptions import RedisError

log = logging.getLogger("huiyin.coordination")

Callback = Callable[[str], None]
Clock = Callable[[], float]

WARN_INTERVAL = 60.0
_SWEEP_EVERY = 1024
_OUTAGE_ERRORS: tuple[type[BaseException], ...] = (RedisError, OSError, TimeoutError)


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


def _check_window(window_seconds: float, limit: int) -> None:
    if window_seconds <= 0:
        raise ValueError(f"window_seconds must be positive, got {window_seconds!r}")
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit!r}")


def _check_ttl(ttl_seconds: float) -> None:
    if ttl_seconds <= 0:
        raise ValueError(f"ttl_seconds must be positive, got {ttl_seconds!r}")


def _describe(exc: BaseException) -> str:
    """Name an error readably (redis-py's repr is terse, e.g. ``network:ConnectionError``)."""
    return f"{type(exc).__name__}: {exc}"


def _run_callback(callback: Callback, channel: str, message: str) -> None:
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


# --------------------------------------------------------------------------- memory


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
        _check_window(window_seconds, limit)
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
        _check_window(window_seconds, limit)
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
        _check_window(flight_seconds, limit)
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
        _check_ttl(ttl_seconds)
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
        _check_ttl(ttl_seconds)
        now = self._now()
        held = self.store.leases.get(name)
        if held is not None and held[1] > now:
            return None
        lease = Lease(name, secrets.token_hex(16))
        self.store.leases[name] = (lease.token, now + ttl_seconds)
        return lease

    async def renew(self, lease: Lease, ttl_seconds: float) -> bool:
        """Extend `lease` to `ttl_seconds` from now if it is still ours."""
        _check_ttl(ttl_seconds)
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
                _run_callback(callback, channel, message)


# --------------------------------------------------------------------------- redis

# KEYS[1] sorted set of hit times (microseconds, Redis server clock so all instances agree).
# ARGV: window_us, limit, member suffix, record (1 = hit, 0 = peek).
# Returns {allowed, count, retry_us}.
_SLIDING_WINDOW = """
local key = KEYS[1]
local window = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local count = redis.call('ZCARD', key)
if count < limit then
  if ARGV[4] == '1' then
    redis.call('ZADD', key, now, t[1] .. '.' .. t[2] .. ':' .. ARGV[3])
    redis.call('PEXPIRE', key, math.ceil(window / 1000) + 1)
    return {1, count + 1, 0}
  end
  return {1, count, 0}
end
local edge = redis.call('ZRANGE', key, count - limit, count - limit, 'WITHSCORES')
return {0, count, tonumber(edge[2]) + window - now}
"""

# KEYS[1] the time (microseconds, server clock) the next slot is free; ARGV[1] interval_us.
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local free = tonumber(redis.call('GET', KEYS[1]) or '0')
local start = math.max(now, free)
local after = start + tonumber(ARGV[1])
local ttl = math.ceil((after - now) / 1000) + 1000
redis.call('SET', KEYS[1], string.format('%d', after), 'PX', ttl)
return start - now
"""

# KEYS[1] the next free slot of the schedule, KEYS[2] sorted set of places: token -> the time
# it is free again (microseconds, server clock). ARGV: interval_us, limit, flight_us,
# horizon_us, token. The slot is the first one after the schedule's last at which fewer than
# `limit` places are still held. Returns {booked, wait_us}.
_BOOK = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local limit = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local start = math.max(now, tonumber(redis.call('GET', KEYS[1]) or '0'))
local held = redis.call('ZCARD', KEYS[2])
if held >= limit then
  local edge = redis.call('ZRANGE', KEYS[2], held - limit, held - limit, 'WITHSCORES')
  start = math.max(start, tonumber(edge[2]))
end
if start - now > tonumber(ARGV[4]) then
  return {0, start - now}
end
local flight = tonumber(ARGV[3])
redis.call('ZADD', KEYS[2], start + flight, ARGV[5])
redis.call('PEXPIRE', KEYS[2], math.ceil((start + flight - now) / 1000) + 1000)
local after = start + tonumber(ARGV[1])
local ttl = math.ceil((after - now) / 1000) + 1000
redis.call('SET', KEYS[1], string.format('%d', after), 'PX', ttl)
return {1, start - now}
"""

# KEYS[1] as above; ARGV: token, hold_us (0 or less: free it).
_SETTLE = """
if tonumber(ARGV[2]) <= 0 then
  return redis.call('ZREM', KEYS[1], ARGV[1])
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
return redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[2]), ARGV[1])
"""

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


def _ms(seconds: float) -> int:
    return max(1, math.ceil(seconds * 1000))


class RedisCoordinator(Coordinator):
    """Coordinator backed by Redis, shared by every instance using the same URL and prefix."""

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "huiyin:",
        socket_timeout: float = 2.0,
        breaker_seconds: float = 1.0,
        backoff_initial: float = 0.5,
        backoff_max: float = 30.0,
        poll_interval: float = 0.2,
        ready_timeout: float = 3.0,
        client_name: str | None = None,
    ) -> None:
        """Prepare a client for `url` (nothing connects until first use or `start`)."""
        self.prefix = prefix
        options: dict[str, Any] = {
            "decode_responses": True,
            "socket_timeout": socket_timeout,
            "socket_connect_timeout": socket_timeout,
            "health_check_interval": 30,
            "client_name": client_name,
        }
        # Commands get one quick retry (a pooled connection may be stale after a Redis restart).
        self._redis: aioredis.Redis = aioredis.Redis.from_url(
            url, retry=Retry(ExponentialBackoff(cap=0.2, base=0.05), 1), **options
        )
        # The subscriber gets none: every drop reaches _listen, which logs it and backs off.
        self._sub_redis: aioredis.Redis = aioredis.Redis.from_url(
            url, retry=Retry(NoBackoff(), 0), **options
        )
        self._hit_script = self._redis.register_script(_SLIDING_WINDOW)
        self._renew_script = self._redis.register_script(_RENEW)
        self._release_script = self._redis.register_script(_RELEASE)
        self._reserve_script = self._redis.register_script(_RESERVE)
        self._book_script = self._redis.register_script(_BOOK)
        self._settle_script = self._redis.register_script(_SETTLE)
        self._local = MemoryCoordinator()  # the schedule kept while Redis is unreachable
        self._breaker_seconds = breaker_seconds
        self._backoff_initial = backoff_initial
        self._backoff_max = backoff_max
        self._poll_interval = poll_interval
        self._ready_timeout = ready_timeout
        self._down_until = 0.0
        self._last_warned: dict[str, float] = {}
        self._callbacks: dict[str, list[Callback]] = {}
        self._changed = asyncio.Event()
        self._first_attempt = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    # -- outage handling

    def _available(self) -> bool:
        return time.monotonic() >= self._down_until

    def _failed(self, operation: str, exc: BaseException | None) -> None:
        """Note a failed call: open the breaker and warn at most once per minute per kind."""
        now = time.monotonic()
        if exc is not None:
            self._down_until = now + self._breaker_seconds
        last = self._last_warned.get(operation)
        if last is not None and now - last < WARN_INTERVAL:
            return
        self._last_warned[operation] = now
        reason = _describe(exc) if exc is not None else "recently unreachable"
        log.warning("Redis unavailable for %s (%s); carrying on without it", operation, reason)

    def _key(self, kind: str, name: str) -> str:
        return f"{self.prefix}{kind}:{name}"

    # -- primitives

    async def _window(
        self, key: str, window_seconds: float, limit: int, record: bool
    ) -> HitResult:
        _check_window(window_seconds, limit)
        window_us = max(1, math.ceil(window_seconds * 1_000_000))
        args: list[int | str] = [window_us, limit, secrets.token_hex(8), 1 if record else 0]
        allowed, count, retry_us = await self._hit_script(keys=[self._key("rl", key)], args=args)
        return HitResult(bool(allowed), int(count), int(retry_us) / 1_000_000)

    async def hit(self, key: str, window_seconds: float, limit: int) -> HitResult:
        """Record a hit on `key` if fewer than `limit` happened in the last window."""
        if self._available():
            try:
                return await self._window(key, window_seconds, limit, record=True)
            except _OUTAGE_ERRORS as exc:
                self._failed("hit", exc)
        else:
            self._failed("hit", None)
        return HitResult(True, 0, 0.0)

    async def peek_wait(self, key: str, window_seconds: float, limit: int) -> float:
        """Return seconds until a hit on `key` would be allowed (0 if now), recording nothing."""
        if self._available():
            try:
                return (await self._window(key, window_seconds, limit, record=False)).retry_after
            except _OUTAGE_ERRORS as exc:
                self._failed("peek_wait", exc)
        else:
            self._failed("peek_wait", None)
        return 0.0

    async def peek_many(self, windows: list[tuple[str, float, int]]) -> list[float]:
        """`peek_wait` for several (key, window_seconds, limit) at once, in one round trip."""
        return [wait for wait, _ in await self.peek_counts(windows)]

    async def peek_counts(self, windows: list[tuple[str, float, int]]) -> list[tuple[float, int]]:
        """For several (key, window_seconds, limit) at once: the wait and the hits counted."""
        if not windows:
            return []
        if self._available():
            try:
                async with self._redis.pipeline(transaction=False) as pipe:
                    for key, seconds, limit in windows:
                        _check_window(seconds, limit)
                        args: list[int | str] = [max(1, math.ceil(seconds * 1e6)), limit, "", 0]
                        await self._hit_script(keys=[self._key("rl", key)], args=args, client=pipe)
                    results = await pipe.execute()
                return [(int(retry_us) / 1_000_000, int(count)) for _, count, retry_us in results]
            except _OUTAGE_ERRORS as exc:
                self._failed("peek_wait", exc)
        else:
            self._failed("peek_wait", None)
        return [(0.0, 0)] * len(windows)

    async def reserve(self, key: str, interval: float) -> float:
        """Take the next slot of a schedule spaced `interval` apart; return seconds until it."""
        if self._available():
            try:
                interval_us = max(1, math.ceil(interval * 1_000_000))
                wait_us = await self._reserve_script(
                    keys=[self._key("slot", key)], args=[interval_us]
                )
                return int(wait_us) / 1_000_000
            except _OUTAGE_ERRORS as exc:
                self._failed("reserve", exc)
        else:
            self._failed("reserve", None)
        return await self._local.reserve(key, interval)

    async def book(
        self, key: str, interval: float, limit: int, flight_seconds: float, horizon: float
    ) -> Booking:
        """Take the next slot, `interval` after the last one, at which fewer than `limit`
        places are held, with a place of its own; none if that is over `horizon` away."""
        _check_window(flight_seconds, limit)
        if self._available():
            try:
                token = secrets.token_hex(8)
                args: list[int | str] = [
                    max(1, math.ceil(interval * 1e6)),
                    limit,
                    max(1, math.ceil(flight_seconds * 1e6)),
                    max(0, math.floor(horizon * 1e6)),
                    token,
                ]
                keys = [self._key("slot", key), self._key("places", key)]
                booked, wait_us = await self._book_script(keys=keys, args=args)
                return Booking(token if booked else None, int(wait_us) / 1_000_000)
            except _OUTAGE_ERRORS as exc:
                self._failed("book", exc)
        else:
            self._failed("book", None)
        return await self._local.book(key, interval, limit, flight_seconds, horizon)

    async def settle(self, key: str, token: str, hold_seconds: float) -> None:
        """Hold the place `token` for `hold_seconds` from now (0 or less frees it now)."""
        await self._local.settle(key, token, hold_seconds)  # a place taken during an outage
        if not self._available():
            self._failed("settle", None)
            return
        try:
            hold_us = math.ceil(hold_seconds * 1e6) if hold_seconds > 0 else 0
            await self._settle_script(keys=[self._key("places", key)], args=[token, hold_us])
        except _OUTAGE_ERRORS as exc:
            self._failed("settle", exc)

    async def first_seen(self, key: str, ttl_seconds: float) -> bool:
        """Return True the first time `key` is seen within `ttl_seconds`, else False."""
        _check_ttl(ttl_seconds)
        if self._available():
            try:
                created = await self._redis.set(
                    self._key("seen", key), "1", nx=True, px=_ms(ttl_seconds)
                )
                return bool(created)
            except _OUTAGE_ERRORS as exc:
                self._failed("first_seen", exc)
        else:
            self._failed("first_seen", None)
        return True

    async def acquire(self, name: str, ttl_seconds: float) -> Lease | None:
        """Take the lock `name` for `ttl_seconds`, or return None if someone holds it."""
        _check_ttl(ttl_seconds)
        if not self._available():
            self._failed("acquire", None)
            return None
        lease = Lease(name, secrets.token_hex(16))
        try:
            taken = await self._redis.set(
                self._key("lock", name), lease.token, nx=True, px=_ms(ttl_seconds)
            )
        except _OUTAGE_ERRORS as exc:
            self._failed("acquire", exc)
            return None
        return lease if taken else None

    async def renew(self, lease: Lease, ttl_seconds: float) -> bool:
        """Extend `lease` to `ttl_seconds` from now if it is still ours."""
        _check_ttl(ttl_seconds)
        if not self._available():
            self._failed("renew", None)
            return False
        try:
            renewed = await self._renew_script(
                keys=[self._key("lock", lease.name)], args=[lease.token, _ms(ttl_seconds)]
            )
        except _OUTAGE_ERRORS as exc:
            self._failed("renew", exc)
            return False
        return bool(renewed)

    async def release(self, lease: Lease) -> None:
        """Release `lease` if it is still ours."""
        if not self._available():
            self._failed("release", None)
            return
        try:
            await self._release_script(keys=[self._key("lock", lease.name)], args=[lease.token])
        except _OUTAGE_ERRORS as exc:
            self._failed("release", exc)

    async def publish(self, channel: str, message: str) -> None:
        """Broadcast `message` on `channel` to every instance, this one included."""
        if not self._available():
            self._failed("publish", None)
            return
        try:
            await self._redis.publish(self._key("ch", channel), message)
        except _OUTAGE_ERRORS as exc:
            self._failed("publish", exc)

    def subscribe(self, channel: str, callback: Callback) -> None:
        """Register `callback` to receive messages published on `channel`."""
        self._callbacks.setdefault(channel, []).append(callback)
        self._changed.set()

    # -- lifecycle and the pub/sub task

    async def start(self) -> None:
        """Start the pub/sub task; wait (bounded) until subscriptions are live or Redis fails."""
        if self._task is not None:
            return
        self._task = asyncio.create_task(self._listen(), name="huiyin-coordination-pubsub")
        if self._callbacks:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._ready_timeout):
                    await self._first_attempt.wait()

    async def close(self) -> None:
        """Stop the pub/sub task and close the connection pool."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._sub_redis.aclose()
        await self._redis.aclose()

    async def _listen(self) -> None:
        """Deliver messages forever, reconnecting with exponential backoff after failures."""
        backoff = self._backoff_initial
        down_since: float | None = None
        while True:
            if not self._callbacks:
                await self._changed.wait()
            pubsub = self._sub_redis.pubsub(ignore_subscribe_messages=True)
            try:
                live: set[str] = set()
                while True:
                    self._changed.clear()
                    wanted = set(self._callbacks) - live
                    if wanted:
                        await pubsub.subscribe(*(self._key("ch", c) for c in wanted))
                        live |= wanted
                        self._first_attempt.set()
                        if down_since is not None:
                            log.warning(
                                "Redis pub/sub reconnected after %.1f s",
                                time.monotonic() - down_since,
                            )
                            down_since = None
                        backoff = self._backoff_initial
                    message = await pubsub.get_message(
                        ignore_subscribe_messages=True, timeout=self._poll_interval
                    )
                    if message is not None and message.get("type") == "message":
                        self._dispatch(message["channel"], message["data"])
            except _OUTAGE_ERRORS as exc:
                self._first_attempt.set()
                if down_since is None:
                    down_since = time.monotonic()
                    log.warning("Redis pub/sub connection lost (%s); reconnecting", _describe(exc))
                else:
                    log.info(
                        "Redis pub/sub still unreachable (%s); next try in %.1f s",
                        _describe(exc),
                        backoff,
                    )
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self._backoff_max)
            except Exception:  # a bug must not end delivery for good
                log.exception("Redis pub/sub listener failed; restarting in %.1f s", backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self._backoff_max)
            finally:
                with contextlib.suppress(*_OUTAGE_ERRORS):
                    await pubsub.aclose()

    def _dispatch(self, full_channel: str, message: str) -> None:
        channel = full_channel.removeprefix(self.prefix + "ch:")
        for callback in list(self._callbacks.get(channel, ())):
            _run_callback(callback, channel, message)


def make_coordinator(redis_url: str | None, prefix: str = "huiyin:") -> Coordinator:
    """Return a RedisCoordinator for `redis_url`, or a MemoryCoordinator when it is None."""
    if redis_url:
        return RedisCoordinator(redis_url, prefix=prefix)
    return MemoryCoordinator()
