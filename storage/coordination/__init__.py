"""Coordination between bot instances: rate limits, de-duplication, leader leases, broadcast.

One abstract interface (`base.Coordinator`) with two implementations sharing one contract test:

- `memory.MemoryCoordinator`: in-process, for a single instance (no ``HUIYIN_REDIS_URL``). Several
  coordinators may share one `MemoryStore`, which is how tests play "two instances".
- `redis.RedisCoordinator`: redis.asyncio; every instance pointed at the same Redis (and prefix)
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
