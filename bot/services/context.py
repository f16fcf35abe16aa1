"""What every service needs: sessions, the extractor, the calendar, the clock and the waker;
who asks, what a button press answers, and text as people may send it."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.deadlines import DeadlinePolicy
from bot.departments import Directory
from bot.indicators import Indicators
from bot.workdays import WorkCalendar
from nlp import GROUP_ASK_AT, GROUP_TICKET_AT, Extractor
from storage.coordination.base import Coordinator
from storage.coordination.memory import MemoryCoordinator
from storage.models import utcnow


def _nothing() -> None:
    return None


def _no_chat(_chat_id: int) -> None:
    return None


@dataclass
class Services:
    """The dependencies of the use cases, built once by the composition root."""

    sessions: async_sessionmaker[AsyncSession]
    extractor: Extractor
    calendar: WorkCalendar
    policy: DeadlinePolicy
    directory: Directory = field(default_factory=Directory.load)
    indicators: Indicators = field(default_factory=Indicators.load)
    admin_ids: frozenset[int] = frozenset()
    clock: Callable[[], datetime] = utcnow
    wake: Callable[[], None] = field(default=_nothing)
    # Called after a chat's bindings changed (bound, unbound, left, moved): the composition
    # root brings the chat's own command menu up to date in the background.
    chat_changed: Callable[[int], None] = field(default=_no_chat)
    max_text_length: int = 4096  # longer reports are filed cut, and the reporter is told
    attach_window_seconds: int = 600
    prompt_ttl_seconds: int = 3600
    private_prompt_ttl_seconds: int = 24 * 3600
    bot_username: str = "huiyin_bot"
    console_url: str = ""  # public root of the web console, for sign-in links
    group_confidence: float = GROUP_TICKET_AT
    group_ask_confidence: float = GROUP_ASK_AT
    group_prompt_ttl_seconds: int = 1800
    merge_window_seconds: int = 72 * 3600
    coordinator: Coordinator = field(default_factory=MemoryCoordinator)
    reports_per_hour: int = 10
    flood_window_seconds: int = 600
    merge_similarity: float = 0.35

    def is_admin(self, user_id: int) -> bool:
        """Tell whether this Telegram user administers the bot."""
        return user_id in self.admin_ids


@dataclass(frozen=True, slots=True)
class ButtonAnswer:
    """The short answer shown to whoever pressed a button."""

    text: str
    alert: bool = False


@dataclass(frozen=True, slots=True)
class Person:
    """A Telegram user as a service sees them."""

    id: int
    first_name: str = ""
    username: str | None = None

    @property
    def display_name(self) -> str:
        """Return the name to show, falling back to the username or the id."""
        return self.first_name or self.username or str(self.id)


def clean_text(text: str) -> str:
    """Drop control and format characters (keeping line breaks) and trim the text."""
    kept = []
    for ch in text:
        if ch in "\n\t":
            kept.append(ch)
            continue
        cat = unicodedata.category(ch)
        if cat in ("Cc", "Cs", "Co", "Cn"):
            continue
        kept.append(ch)
    return "".join(kept).strip()
