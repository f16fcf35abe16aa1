"""Tell the dispatch chat, once per year, that a year's 调休 arrangement is missing."""

from __future__ import annotations

from bot import texts
from bot.intents import Notice
from bot.services.context import Services
from bot.services.handling import routing
from storage.outbox import enqueue


async def announce_missing_years(services: Services) -> int:
    """Queue the notice for each year the calendar had to guess; return how many were new."""
    # The outbox key makes it once per year and chat, whichever instance notices first.
    years = sorted(services.calendar.unannounced_years)
    if not years:
        return 0
    queued = 0
    async with services.sessions.begin() as session:
        for chat_id in await routing.dispatch_chat_ids(session):
            for year in years:
                queued += await enqueue(
                    session,
                    key=f"calendar_missing:{year}:{chat_id}",
                    chat_id=chat_id,
                    intent=Notice(texts.CALENDAR_YEAR_MISSING.format(year=year)),
                )
    if queued:
        services.wake()
    return queued
