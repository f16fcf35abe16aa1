"""The Redis coordinator: every instance pointed at the same Redis (and prefix) shares limits,
seen-keys, leases and broadcasts; see `storage.coordination` for the outage policy."""

from __future__ import annotations

import asyncio
import contextlib
import math
import secrets
import time
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.exceptions import RedisError

from storage.coordination import scripts
from storage.coordination.base import (
    Booking,
    Callback,
    Coordinator,
    HitResult,
    Lease,
    check_ttl,
    check_window,
    log,
    run_callback,
)
from storage.coordination.memory import MemoryCoordinator

WARN_INTERVAL = 60.0
_OUTAGE_ERRORS: tuple[type[BaseException], ...] = (RedisError, OSError, TimeoutError)


def _describe(exc: BaseException) -> str:
    """Name an error readably (redis-py's repr is terse, e.g. ``network:ConnectionError``)."""
    return f"{type(exc).__name__}: {exc}"


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
        self._hit_script = self._redis.register_script(scripts.SLIDING_WINDOW)
        self._renew_script = self._redis.register_script(scripts.RENEW)
        self._release_script = self._redis.register_script(scripts.RELEASE)
        self._reserve_script = self._redis.register_script(scripts.RESERVE)
        self._book_script = self._redis.register_script(scripts.BOOK)
        self._settle_script = self._redis.register_script(scripts.SETTLE)
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
        check_window(window_seconds, limit)
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
                        check_window(seconds, limit)
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
        check_window(flight_seconds, limit)
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
        check_ttl(ttl_seconds)
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
        check_ttl(ttl_seconds)
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
        check_ttl(ttl_seconds)
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
            run_callback(callback, channel, message)


def make_coordinator(redis_url: str | None, prefix: str = "huiyin:") -> Coordinator:
    """Return a RedisCoordinator for `redis_url`, or a MemoryCoordinator when it is None."""
    if redis_url:
        return RedisCoordinator(redis_url, prefix=prefix)
    return MemoryCoordinator()
