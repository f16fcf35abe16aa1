"""The Bot API wire format: how each intent becomes one Bot API call (method and parameters).

Only this module builds `inline_keyboard`, `reply_parameters`, entities and method names.
"""

from __future__ import annotations

import base64
import warnings
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from telegram import InputFile
from telegram.error import RetryAfter
from telegram.warnings import PTBDeprecationWarning

from bot import texts
from bot.buttons import encode
from bot.errors import IntentError
from bot.intents import (
    ButtonsOff,
    Card,
    CardUpdate,
    Digest,
    DigestEntry,
    Document,
    Edit,
    GroupAnswer,
    Intent,
    Key,
    Keyboard,
    Location,
    Notice,
    Photo,
    Prompt,
    Removal,
    loads,
)
from storage.models import OutboxMessage

if TYPE_CHECKING:
    from bot.delivery.rows import OutboxRows

TEXT_LIMIT = 4096


_NO_BUTTONS: dict[str, Any] = {"inline_keyboard": []}


def already_done(description: str) -> bool:
    """Refusals that mean the wanted state already holds (an edit or delete done before)."""
    text = description.lower()
    return "message is not modified" in text or "message to delete not found" in text


def retry_seconds(exc: RetryAfter) -> float:
    """Seconds Telegram asked us to wait, whichever type this PTB version reports."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def _markup(buttons: Keyboard) -> dict[str, Any]:
    return {
        "inline_keyboard": [
            [{"text": key.label, "callback_data": encode(key.press)} for key in row]
            for row in buttons
        ]
    }


POSTS = frozenset({"sendMessage", "sendPhoto", "sendLocation", "sendVenue"})


def _message(chat_id: int, text: str, buttons: Keyboard, reply_to: int | None) -> dict[str, Any]:
    params: dict[str, Any] = {
        "chat_id": chat_id,
        "text": text,
        "link_preview_options": {"is_disabled": True},
    }
    if buttons:
        params["reply_markup"] = _markup(buttons)
    if reply_to is not None:
        params["reply_parameters"] = {"message_id": reply_to, "allow_sending_without_reply": True}
    return params


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _mention_entity(text: str, name: str, user_id: int) -> dict[str, Any] | None:
    """A text_mention entity over the first `name` in `text` (None when it is not there)."""
    at = text.find(name) if name else -1
    if at < 0:
        return None
    return {
        "type": "text_mention",
        "offset": _utf16(text[:at]),
        "length": _utf16(name),
        "user": {"id": user_id, "is_bot": False, "first_name": name},
    }


def post_link(chat_id: int, message_id: int) -> str | None:
    """A link to a post in a supergroup (basic groups have no message links)."""
    digits = str(chat_id)
    if not digits.startswith("-100"):
        return None
    return f"https://t.me/c/{digits[4:]}/{message_id}"


def batch_answers(params: dict[str, Any], chat_id: int, answers: list[Intent]) -> None:
    """Several answers as one message: it replies to the first answered post, and each line
    links to the post it answers (a message can reply to only one)."""
    params.pop("reply_parameters", None)
    text, first = "", None
    entities: list[dict[str, Any]] = []
    for answer in answers:
        line = getattr(answer, "text", "")
        reply_to: int | None = getattr(answer, "reply_to", None)
        link = None if reply_to is None else post_link(chat_id, reply_to)
        first = first if first is not None or reply_to is None else reply_to
        piece = (text and "\n") + line
        label = texts.BATCH_ANSWER_POST if link else ""
        if _utf16(text + piece + label) + 1 > TEXT_LIMIT:
            break
        text += piece
        if link:
            text += " "
            entities.append(
                {"type": "text_link", "offset": _utf16(text), "length": _utf16(label), "url": link}
            )
            text += label
    params["text"] = text or params["text"][:TEXT_LIMIT]
    if entities:
        params["entities"] = entities
    if first is not None:
        params["reply_parameters"] = {"message_id": first, "allow_sending_without_reply": True}


@dataclass
class Call:
    """One Bot API request, and the digest it rewrites (a card update inside a digest)."""

    method: str
    params: dict[str, Any]
    digest_row: int | None = None
    digest: Digest | None = None


def digest_message(chat_id: int, digest: Digest) -> dict[str, Any]:
    """One message carrying several cards; each ticket's buttons are named by its number."""
    entries = digest.entries
    header = texts.DIGEST_HEADER.format(count=len(entries))
    room = (TEXT_LIMIT - len(header) - len(texts.DIGEST_SEPARATOR) * len(entries)) // len(entries)
    body = texts.DIGEST_SEPARATOR.join(
        e.text if len(e.text) <= room else e.text[: room - 1] + "…" for e in entries
    )
    buttons = tuple(
        tuple(
            Key(texts.DIGEST_BUTTON.format(number=e.title or e.ticket_id, action=k.label), k.press)
            for k in row
        )
        for e in entries
        for row in e.buttons
    )
    return _message(chat_id, header + texts.DIGEST_SEPARATOR + body, buttons, None)


def _mentioning(prompt: Prompt) -> tuple[str, list[dict[str, Any]]]:
    """The prompt's text led by the asked person's name as a mention (a text_mention entity
    reaches people without a username too)."""
    name = prompt.mention_name[:64] or str(prompt.mention_id)
    entity = {
        "type": "text_mention",
        "offset": 0,
        "length": len(name.encode("utf-16-le")) // 2,
        "user": {"id": prompt.mention_id, "is_bot": False, "first_name": name},
    }
    return f"{name}，{prompt.text}", [entity]


async def card_update(rows: OutboxRows, row: OutboxMessage, intent: CardUpdate) -> Call:
    """An edit of the ticket's card where it was posted (inside a digest, the whole digest)."""
    chat_id = row.chat_id
    message_id = await rows.card_message(row)
    if message_id is None:  # the card never arrived: post it now the chat works
        return Call("sendMessage", _message(chat_id, intent.text, intent.buttons, None))
    carrier = await rows.digest_of(chat_id, message_id)
    if carrier is not None:
        old = loads(carrier.kind, carrier.payload)
        assert isinstance(old, Digest)
        digest = Digest(
            tuple(
                DigestEntry(e.ticket_id, intent.text, intent.buttons, intent.title)
                if e.ticket_id == row.ticket_id
                else e
                for e in old.entries
            )
        )
        params = digest_message(chat_id, digest) | {"message_id": message_id}
        return Call("editMessageText", params, carrier.id, digest)
    params = _message(chat_id, intent.text, intent.buttons, None)
    return Call("editMessageText", params | {"message_id": message_id})


async def request(rows: OutboxRows, row: OutboxMessage, intent: Intent) -> Call | None:
    """The Bot API call that carries `intent` (None: the message it acts on never went out)."""
    chat_id = row.chat_id
    reply_to: int | None = getattr(intent, "reply_to", None)
    reply: dict[str, Any] = {}
    if reply_to is not None:
        reply["reply_parameters"] = {
            "message_id": reply_to,
            "allow_sending_without_reply": True,
        }
    match intent:
        case Notice() | GroupAnswer():
            params = _message(chat_id, intent.text, intent.buttons, intent.reply_to)
            if isinstance(intent, Notice) and intent.mention_id is not None:
                entity = _mention_entity(intent.text, intent.mention_name, intent.mention_id)
                if entity is not None:
                    params["entities"] = [entity]
            return Call("sendMessage", params)
        case Card():
            return Call("sendMessage", _message(chat_id, intent.text, intent.buttons, None))
        case CardUpdate():
            return await card_update(rows, row, intent)
        case Prompt():
            params = _message(chat_id, intent.text, (), intent.reply_to)
            params["reply_markup"] = {"force_reply": True, "selective": intent.selective}
            if intent.placeholder:
                params["reply_markup"]["input_field_placeholder"] = intent.placeholder[:64]
            if intent.mention_id is not None:
                params["text"], params["entities"] = _mentioning(intent)
            return Call("sendMessage", params)
        case Photo():
            params = {"chat_id": chat_id, "photo": intent.file_id, "caption": intent.caption}
            return Call("sendPhoto", params | reply)
        case Location():
            params = {
                "chat_id": chat_id,
                "latitude": intent.latitude,
                "longitude": intent.longitude,
            } | reply
            if intent.title:
                venue = {"title": intent.title, "address": intent.address}
                return Call("sendVenue", params | venue)
            return Call("sendLocation", params)
        case Document():
            upload = InputFile(base64.b64decode(intent.data), filename=intent.filename)
            params = {"chat_id": chat_id, "document": upload, "caption": intent.caption}
            return Call("sendDocument", params)
        case Edit():
            message_id = await rows.earlier(chat_id, intent.target)
            if message_id is None:
                return None
            params = _message(chat_id, intent.text, intent.buttons, None)
            return Call("editMessageText", params | {"message_id": message_id})
        case ButtonsOff() | Removal():
            message_id = await rows.earlier(chat_id, intent.target)
            if message_id is None:
                return None
            target = {"chat_id": chat_id, "message_id": message_id}
            if isinstance(intent, Removal):
                return Call("deleteMessage", target)
            return Call("editMessageReplyMarkup", target | {"reply_markup": _NO_BUTTONS})
    raise IntentError(f"no Bot API call for {intent!r}")
