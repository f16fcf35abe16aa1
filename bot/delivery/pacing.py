"""Pacing to Telegram's limits, shared by every instance through the coordinator.

One schedule of slots for the overall rate, given only where no second of arrivals can exceed
the limit (`Pacer.turn`), and a window per private chat and per group.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass

from storage.coordination.base import Coordinator
from storage.coordination.memory import MemoryCoordinator

MARGIN_STEP = 0.02  # each 429 leaves 2% more of the overall limit unused…
MARGIN_MAX = 0.12  # …up to 12% (26.4/s)…
MARGIN_DECAY = 60.0  # …and each calm minute gives 2% back
_GLOBAL = "pace:global"  # the overall schedule and its places, shared by every instance


@dataclass(frozen=True)
class Limits:
    """Telegram's published pacing (overall, per private chat, per group) and our margins."""

    per_second: float = 30
    # Requests leave evenly spaced at the limit: what keeps Telegram from counting more is the
    # arrival guard in `Pacer.turn` (it leaves each request's time on the way unused), so no
    # margin is kept for that. After a 429 the spacing leaves more room (see `Pacer.pause`).
    global_margin: float = 0.0
    private_interval: float = 1.0
    group_per_minute: int = 20
    # 20 per 62 s as sent stays under 20 per minute as received, however late they arrive.
    group_window: float = 62.0
    quiet_per_minute: int = 6  # the bot's own answers in a grid group, batched beyond this
    quiet_window: float = 60.0
    # How long a request with no answer yet may keep its place under the overall limit (a
    # process that dies mid-request leaves its places to expire).
    flight_seconds: float = 10.0

    @property
    def interval(self) -> float:
        """Seconds between two sends from all instances together."""
        return 1.0 / (self.per_second * (1.0 - self.global_margin))


class Pacer:
    """When each chat may receive its next message, kept in the coordinator for all instances."""

    def __init__(self, limits: Limits, coordinator: Coordinator | None = None) -> None:
        self.limits = limits
        self.coordinator = coordinator or MemoryCoordinator()
        self._paused: dict[int, float] = {}
        self._booking = asyncio.Lock()
        self._extra_margin = 0.0
        self._extra_since = 0.0
        self._group_counts: dict[int, int] = {}  # each group's sends (all instances), last looked

    def _windows(self, chat_id: int, quiet: bool) -> list[tuple[str, float, int]]:
        limits, windows = self.limits, []
        if chat_id > 0:
            if limits.private_interval > 0:
                windows.append((f"pace:chat:{chat_id}", limits.private_interval, 1))
        else:
            windows.append((f"pace:group:{chat_id}", limits.group_window, limits.group_per_minute))
        if quiet:
            windows.append((f"pace:quiet:{chat_id}", limits.quiet_window, limits.quiet_per_minute))
        return windows

    async def waits(self, chats: list[tuple[int, bool]], now: float) -> list[float]:
        """Seconds until each (chat, quiet) may receive a message (0 when it may now)."""
        per_chat = [self._windows(chat_id, quiet) for chat_id, quiet in chats]
        flat = [w for windows in per_chat for w in windows]
        found = iter(await self.coordinator.peek_counts(flat))
        if len(self._group_counts) > 10_000:
            self._group_counts = {}
        result = []
        for (chat_id, _), windows in zip(chats, per_chat, strict=True):
            wait = self._paused.get(chat_id, 0.0) - now
            for key, _, _ in windows:
                seconds, count = next(found)
                wait = max(wait, seconds)
                if key.startswith("pace:group:"):
                    self._group_counts[chat_id] = count
            result.append(max(0.0, wait))
        return result

    async def record(self, chat_id: int, *, quiet: bool) -> None:
        """Note a message leaving for `chat_id` now (shared with every instance)."""
        for key, seconds, limit in self._windows(chat_id, quiet):
            await self.coordinator.hit(key, seconds, limit)

    def busy(self, chat_id: int) -> bool:
        """Whether all instances together sent a group half its per-minute ceiling within the
        last window, as of the last `waits` (then new cards share a message rather than queue
        behind the ceiling)."""
        half = max(1, self.limits.group_per_minute // 2)
        return self._group_counts.get(chat_id, 0) >= half

    async def turn(self) -> str | None:
        """Wait for this message's slot under the overall limit (one schedule for every
        instance); return its place, for `landed` once Telegram answers."""
        rate = self.limits.per_second * (1.0 - self.margin())
        interval = 1.0 / rate
        if interval < 1e-4:  # pacing lifted (benchmarks)
            return None
        # Telegram counts a message when it arrives, and requests are delayed on the way by
        # different amounts (a busy machine, a slow network), so even spacing alone cannot keep
        # arrivals under the limit. A message arrives before its answer comes back: so a slot
        # is only given where fewer than the limit (all instances together) are in flight or
        # were answered within the second before it. Then no second of arrivals holds more
        # than the limit, whatever the delays; slow answers only slow the rate.
        limit = max(1, math.floor(self.limits.per_second))
        async with self._booking:  # one booking at a time per instance: no crowd of retries
            while True:
                booking = await self.coordinator.book(
                    _GLOBAL, interval, limit, self.limits.flight_seconds, horizon=1.0
                )
                if booking.token is not None:
                    break
                # Every slot within a second is taken, or held by requests still in flight
                # (free a second after their answer): look again shortly.
                await asyncio.sleep(interval)
        # The wait counts from the coordinator's answer, later than the slot was given: a
        # message never leaves before its slot.
        if booking.wait > 0:
            await asyncio.sleep(booking.wait)
        return booking.token

    async def landed(self, place: str | None, answered_at: float) -> None:
        """Telegram answered the message holding `place` at `answered_at` (loop time): it
        arrived before then, so it counts for one second from then at most."""
        if place is None:
            return
        age = asyncio.get_running_loop().time() - answered_at
        await self.coordinator.settle(_GLOBAL, place, max(1e-6, 1.0 - age))

    def pause(self, chat_id: int, until: float) -> None:
        """Hold a chat until `until` after a 429, and leave more room under the overall limit:
        our own per-chat pacing makes a 429 a sign that requests arrive more bunched than they
        left (a slow network or a busy machine)."""
        self._paused[chat_id] = max(self._paused.get(chat_id, 0.0), until)
        now = asyncio.get_running_loop().time()
        self._extra_margin = min(MARGIN_MAX, self._current_extra(now) + MARGIN_STEP)
        self._extra_since = now

    def _current_extra(self, now: float) -> float:
        calm = max(0.0, now - self._extra_since)
        return max(0.0, self._extra_margin - MARGIN_STEP * calm / MARGIN_DECAY)

    def margin(self) -> float:
        """The share of the overall limit left unused now: the configured margin, plus what
        recent 429s added (it melts away again over calm minutes)."""
        now = asyncio.get_running_loop().time()
        return self.limits.global_margin + self._current_extra(now)
