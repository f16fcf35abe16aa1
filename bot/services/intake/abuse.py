"""Abuse controls shared across instances: per-user report limits and identical floods."""

from __future__ import annotations

import hashlib

from bot.services.context import Services


async def over_report_limit(services: Services, user_id: int) -> bool:
    """Count one report attempt; True when the user is over the hourly limit."""
    result = await services.coordinator.hit(
        f"reports:{user_id}", 3600.0, max(1, services.reports_per_hour)
    )
    return not result.allowed


async def is_flood(services: Services, chat_id: int, text: str) -> bool:
    """True when the same text was already posted in this chat within the flood window."""
    digest = hashlib.blake2b(" ".join(text.split()).encode(), digest_size=12).hexdigest()
    first = await services.coordinator.first_seen(
        f"flood:{chat_id}:{digest}", float(services.flood_window_seconds)
    )
    return not first
