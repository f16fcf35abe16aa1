"""This process's own counters for /metrics: updates, handler errors, 429s, sweeper passes.

A plain in-memory object (nothing happens at import); each instance reports its own, as
Prometheus expects of a scrape target. Figures from the database are read at scrape time.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class Counters:
    """Counts since this process started, and when this instance last swept."""

    counts: Counter[str] = field(default_factory=Counter)
    last_sweep_at: datetime | None = None

    def inc(self, name: str, n: int = 1) -> None:
        """Add to a counter."""
        self.counts[name] += n


COUNTERS = Counters()
