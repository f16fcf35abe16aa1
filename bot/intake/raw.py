"""Reading raw update JSON without deserialising it: its kind, its chat, who sent it."""

from __future__ import annotations

import json
from typing import Any

from bot.errors import NotAnUpdate
from storage.inbox import Incoming
from storage.models import UpdateKind

__all__ = ["NotAnUpdate", "RawUpdate", "check", "dump", "incoming"]

RawUpdate = dict[str, Any]


def _field(raw: RawUpdate) -> str:
    """The update's one field besides its id (named after its kind)."""
    for key in raw:
        if key != "update_id":
            return str(key)
    return ""


def kind_of(raw: RawUpdate) -> UpdateKind:
    """The update's kind: message, edited_message, callback_query, …"""
    return UpdateKind(_field(raw))


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def chat_key(raw: RawUpdate) -> int:
    """The chat whose order this update must keep (the user for chat-less updates)."""
    body = _dict(raw.get(_field(raw)))
    chat = _dict(body.get("chat")) or _dict(_dict(body.get("message")).get("chat"))
    return _int(chat.get("id")) or _int(_dict(body.get("from")).get("id"))


def check(raw: Any) -> RawUpdate:
    """Return `raw` if it looks like an update (an object with an integer update_id)."""
    if not isinstance(raw, dict):
        raise NotAnUpdate("not an object")
    update_id = raw.get("update_id")
    if not isinstance(update_id, int) or isinstance(update_id, bool) or update_id < 0:
        raise NotAnUpdate("no integer update_id")
    if len(raw) > 1 and not isinstance(raw.get(_field(raw)), dict):
        raise NotAnUpdate("the update's body is not an object")
    return raw


def dump(raw: RawUpdate) -> str:
    """The update as JSON text a database accepts: lone surrogates (valid in JSON, refused as
    UTF-8) are kept as escapes; NUL is always escaped by the encoder."""
    text = json.dumps(raw, ensure_ascii=False, separators=(",", ":"))
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(raw, separators=(",", ":"))
    return text


def incoming(raw: RawUpdate, *, done: bool) -> Incoming:
    """The inbox row for one raw update."""
    return Incoming(
        update_id=int(raw["update_id"]),
        chat_key=chat_key(raw),
        kind=kind_of(raw),
        payload="" if done else dump(raw),  # decided chatter needs no replay
        done=done,
    )


def apology_target(raw: RawUpdate) -> tuple[int, int | None] | None:
    """Where to apologise for an update we could not handle: (chat, message to answer)."""
    body = _dict(raw.get(_field(raw)))
    if "data" in body or "chat_instance" in body:  # a callback query: tell the presser
        user = _int(_dict(body.get("from")).get("id"))
        return (user, None) if user else None
    chat = _dict(body.get("chat"))
    chat_id, message_id = _int(chat.get("id")), _int(body.get("message_id"))
    if chat_id:
        return chat_id, message_id or None
    user = _int(_dict(body.get("from")).get("id"))
    return (user, None) if user else None
