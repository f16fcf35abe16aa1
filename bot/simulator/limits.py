"""Telegram's (approximate) flood limits, for a simulator that enforces them."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field


@dataclass
class FloodLimits:
    """Per private chat token bucket, per group sliding minute, global sliding second."""

    private_rate: float = 1.0  # messages per second per private chat, refilled steadily
    private_burst: float = 3.0  # bucket size: a short burst is tolerated
    group_per_minute: int = 20
    global_per_second: int = 30
    _buckets: dict[int, tuple[float, float]] = field(default_factory=dict)
    _group_sent: dict[int, deque[float]] = field(default_factory=dict)
    _global_sent: deque[float] = field(default_factory=deque)

    def check(self, chat_id: int, private: bool, now: float) -> int | None:
        """Record a send at ``now``; return retry_after seconds if it exceeds a limit."""
        while self._global_sent and now - self._global_sent[0] >= 1.0:
            self._global_sent.popleft()
        if len(self._global_sent) >= self.global_per_second:
            return max(1, math.ceil(1.0 - (now - self._global_sent[0])))
        if private:
            tokens, last = self._buckets.get(chat_id, (self.private_burst, now))
            tokens = min(self.private_burst, tokens + (now - last) * self.private_rate)
            if tokens < 1.0:
                self._buckets[chat_id] = (tokens, now)
                return max(1, math.ceil((1.0 - tokens) / self.private_rate))
            self._buckets[chat_id] = (tokens - 1.0, now)
        else:
            sent = self._group_sent.setdefault(chat_id, deque())
            while sent and now - sent[0] >= 60.0:
                sent.popleft()
            if len(sent) >= self.group_per_minute:
                return max(1, math.ceil(60.0 - (now - sent[0])))
            sent.append(now)
        self._global_sent.append(now)
        return None
