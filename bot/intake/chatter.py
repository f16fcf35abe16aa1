"""Silent group chatter, decided in memory from the raw JSON: no lookup, no PTB objects.

A post in a grid group that is not a command, not 上报, and that the extractor would not act
on is what `groups.hear` answers with silence; the intake drops it without a database round
trip (re-deciding it after a crash changes nothing). Everything else takes the full path. The
set of grid chats is cached and reloaded when a chat is bound (here or, through the
coordinator, on another instance) and every minute.
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any

from bot.intake.raw import RawUpdate
from bot.services.context import Services
from bot.services.intake import groups

log = logging.getLogger("huiyin.intake")

GRIDS_CHANNEL = "grids"
_REPORT_WORD = re.compile(r"^\s*(上报|/report(@\w+)?)\s*$")
_GROUP_TYPES = ("group", "supergroup")
# A group message made of these keys only is plain content that no handler reads without a
# text or caption; any other key (new_chat_members, migrate_to_chat_id, pinned_message, …)
# sends it the full path.
_PLAIN_KEYS = frozenset(
    {
        "message_id",
        "message_thread_id",
        "from",
        "sender_chat",
        "sender_boost_count",
        "date",
        "chat",
        "is_topic_message",
        "is_automatic_forward",
        "forward_origin",
        "reply_to_message",
        "external_reply",
        "quote",
        "reply_to_story",
        "via_bot",
        "edit_date",
        "has_protected_content",
        "media_group_id",
        "author_signature",
        "effect_id",
        "show_caption_above_media",
        "has_media_spoiler",
        "entities",
        "caption_entities",
        "link_preview_options",
        "animation",
        "audio",
        "document",
        "paid_media",
        "photo",
        "sticker",
        "story",
        "video",
        "video_note",
        "voice",
        "contact",
        "dice",
        "game",
        "poll",
        "venue",
        "location",
        "reply_markup",
        "text",
        "caption",
    }
)


def is_binding(raw: RawUpdate) -> bool:
    """Whether this update may change which chats are grid groups (/bind_…, /unbind…)."""
    message = raw.get("message")
    text = message.get("text") if isinstance(message, dict) else None
    return isinstance(text, str) and text.startswith(("/bind", "/unbind"))


class Chatter:
    """Decides which raw updates are silent grid-group chatter."""

    def __init__(self, services: Services, *, refresh_seconds: float = 60.0) -> None:
        self.services = services
        self.grids: frozenset[int] = frozenset()
        self.refresh_seconds = refresh_seconds
        self._loaded_at = float("-inf")

    async def reload(self) -> None:
        """Read the grid chats again."""
        self.grids = await groups.grid_chat_ids(self.services)
        self._loaded_at = time.monotonic()

    def invalidate(self, _message: str = "") -> None:
        """Forget the cached grids: the next `refresh` reads them again."""
        self._loaded_at = float("-inf")

    async def refresh(self) -> None:
        """Reload the grid chats when the cache is stale (a failure keeps the old set)."""
        if time.monotonic() - self._loaded_at < self.refresh_seconds:
            return
        try:
            await self.reload()
        except Exception as exc:
            log.warning("could not reload the grid chats (%s); keeping the cached ones", exc)

    def silent(self, raw: RawUpdate) -> bool:
        """True when the update is a grid-group post the bot would neither answer nor store.

        Only what the handlers provably ignore is decided here; anything else (a command or
        上报 from anyone, a reply to a bot, a service message such as a join or a group
        becoming a supergroup, an unbound chat, an edit) takes the full path.
        """
        message: Any = raw.get("message")
        if len(raw) != 2 or not isinstance(message, dict):
            return False
        chat = message.get("chat")
        if not isinstance(chat, dict) or chat.get("type") not in _GROUP_TYPES:
            return False
        if chat.get("id") not in self.grids:
            return False
        text = message.get("text")
        if text is None:
            text = message.get("caption")
        if isinstance(text, str) and (text.lstrip().startswith("/") or _REPORT_WORD.match(text)):
            return False  # a command gets an answer even from a sender-less admin
        replied = message.get("reply_to_message")
        if isinstance(replied, dict) and _dict_get(replied.get("from"), "is_bot"):
            return False
        sender = message.get("from")
        if not isinstance(sender, dict) or sender.get("is_bot"):
            return True  # channel posts and bots are never residents' reports
        if not isinstance(text, str):
            # Stickers, photos without a caption: nothing reads them. Service messages
            # (joins, migrations, pins, …) go the full path.
            return not message.keys() - _PLAIN_KEYS
        return groups.is_silent(self.services, text)


def _dict_get(value: Any, key: str) -> Any:
    return value.get(key) if isinstance(value, dict) else None
