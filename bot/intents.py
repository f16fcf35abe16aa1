"""What services want people to receive, as typed values; only `bot.delivery` speaks Bot API.

A service puts one intent per recipient chat in the outbox (`storage.outbox.enqueue`). The
intent's `Kind` decides how the sender paces it and which Bot API call carries it: a grid-group
answer is quiet and may share one message with the answers queued behind it; a card is the
message later card updates edit; a removal or buttons-off acts on a message sent before,
named by its message id or by the outbox key it was sent under.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from typing import Any, ClassVar

from bot.buttons import Press, decode, encode
from bot.errors import IntentError


class Kind(enum.StrEnum):
    """The kinds of outgoing message, as stored in the outbox."""

    NOTICE = "notice"  # a message to a person or a chat
    GROUP_ANSWER = "group_answer"  # the bot speaking in a grid group: quiet, batched
    CARD = "card"  # a ticket's staff card, the message card updates edit
    CARD_UPDATE = "card_update"  # the card of `ticket_id` in this chat, rewritten
    PROMPT = "prompt"  # a question whose answer is a reply (ForceReply)
    PHOTO = "photo"
    LOCATION = "location"  # a map pin, with a place name when one is known
    BUTTONS_OFF = "buttons_off"  # the buttons taken off a message sent before
    EDIT = "edit"  # a message sent before, its text and buttons rewritten
    DOCUMENT = "document"  # a file (the weekly report's Excel), its bytes kept in the outbox
    REMOVAL = "removal"  # a message sent before, deleted
    DIGEST = "digest"  # several cards in one message (written by the sender, never queued)


@dataclass(frozen=True)
class Key:
    """One inline button: its label and what pressing it means."""

    label: str
    press: Press


Keyboard = tuple[tuple[Key, ...], ...]


def keyboard(*rows: tuple[Key, ...] | list[Key]) -> Keyboard:
    """Build a keyboard from rows of keys, dropping empty rows."""
    return tuple(tuple(row) for row in rows if row)


@dataclass(frozen=True)
class Earlier:
    """A message sent before: by its Telegram id, or by the outbox key it was sent under."""

    message_id: int | None = None
    outbox_key: str | None = None


@dataclass(frozen=True)
class Notice:
    """A message to a person or a chat, optionally answering one of its messages."""

    kind: ClassVar[Kind] = Kind.NOTICE
    text: str
    buttons: Keyboard = ()
    reply_to: int | None = None
    # A person named in `text` (first occurrence of `mention_name`), linked so a tap opens
    # a private chat with them even without a username.
    mention_id: int | None = None
    mention_name: str = ""


@dataclass(frozen=True)
class GroupAnswer:
    """The bot's answer in a grid group thread (quiet; several may go out as one message)."""

    kind: ClassVar[Kind] = Kind.GROUP_ANSWER
    text: str
    buttons: Keyboard = ()
    reply_to: int | None = None


@dataclass(frozen=True)
class Card:
    """A ticket's staff card (the outbox row's ticket); later updates edit this message."""

    kind: ClassVar[Kind] = Kind.CARD
    text: str
    buttons: Keyboard = ()
    title: str = ""  # the ticket number, naming its buttons when cards share a digest


@dataclass(frozen=True)
class CardUpdate:
    """The ticket's card in this chat, rewritten to show its current state."""

    kind: ClassVar[Kind] = Kind.CARD_UPDATE
    text: str
    buttons: Keyboard = ()
    title: str = ""


@dataclass(frozen=True)
class Prompt:
    """A question answered by replying; `selective` opens the reply only for those meant."""

    kind: ClassVar[Kind] = Kind.PROMPT
    text: str
    reply_to: int | None = None
    selective: bool = False
    # The person asked, named at the start so a selective reply opens for them (a button
    # press has no message to reply to); `placeholder` shows in their input field.
    mention_id: int | None = None
    mention_name: str = ""
    placeholder: str = ""


@dataclass(frozen=True)
class Photo:
    """A photo by Telegram file id, with a caption."""

    kind: ClassVar[Kind] = Kind.PHOTO
    file_id: str
    caption: str = ""
    reply_to: int | None = None


@dataclass(frozen=True)
class Location:
    """A map pin; with a `title` it shows as a named place."""

    kind: ClassVar[Kind] = Kind.LOCATION
    latitude: float
    longitude: float
    title: str = ""
    address: str = ""
    reply_to: int | None = None


@dataclass(frozen=True)
class ButtonsOff:
    """Take the buttons off a message sent before (so it cannot be pressed twice)."""

    kind: ClassVar[Kind] = Kind.BUTTONS_OFF
    target: Earlier


@dataclass(frozen=True)
class Edit:
    """Rewrite a message sent before: its text and buttons (no buttons: they go)."""

    kind: ClassVar[Kind] = Kind.EDIT
    target: Earlier
    text: str
    buttons: Keyboard = ()


@dataclass(frozen=True)
class Document:
    """A file to send, its bytes base64-encoded (small files only, e.g. a report)."""

    kind: ClassVar[Kind] = Kind.DOCUMENT
    filename: str
    data: str
    caption: str = ""


@dataclass(frozen=True)
class Removal:
    """Delete a message sent before."""

    kind: ClassVar[Kind] = Kind.REMOVAL
    target: Earlier


@dataclass(frozen=True)
class DigestEntry:
    """One ticket's card inside a digest."""

    ticket_id: int
    text: str
    buttons: Keyboard = ()
    title: str = ""


@dataclass(frozen=True)
class Digest:
    """Several tickets' cards sent as one message; kept on the row that carried it, so a
    later update of one ticket rewrites its entry and leaves the others as they are."""

    kind: ClassVar[Kind] = Kind.DIGEST
    entries: tuple[DigestEntry, ...]


Intent = (
    Notice
    | GroupAnswer
    | Card
    | CardUpdate
    | Prompt
    | Photo
    | Location
    | ButtonsOff
    | Edit
    | Document
    | Removal
    | Digest
)

_TYPES: dict[Kind, type[Any]] = {
    t.kind: t
    for t in (
        Notice,
        GroupAnswer,
        Card,
        CardUpdate,
        Prompt,
        Photo,
        Location,
        ButtonsOff,
        Edit,
        Document,
        Removal,
        Digest,
    )
}


def _keys(buttons: Keyboard) -> list[list[list[str]]]:
    return [[[k.label, encode(k.press)] for k in row] for row in buttons]


def _keyboard(rows: list[list[list[str]]]) -> Keyboard:
    return tuple(tuple(Key(label, _press(data)) for label, data in row) for row in rows)


def dumps(intent: Intent) -> str:
    """Serialise `intent`'s fields to JSON (its kind is stored beside it)."""
    fields: dict[str, Any] = {}
    for name, value in vars(intent).items():
        if name == "buttons":
            value = _keys(value)
        elif name == "entries":
            value = [vars(e) | {"buttons": _keys(e.buttons)} for e in value]
        elif isinstance(value, Earlier):
            value = {"message_id": value.message_id, "outbox_key": value.outbox_key}
        fields[name] = value
    return json.dumps(fields, ensure_ascii=False)


def loads(kind: str, payload: str) -> Intent:
    """Read back an intent stored by `dumps` under `kind`."""
    try:
        cls = _TYPES[Kind(kind)]
        fields: dict[str, Any] = json.loads(payload)
        if "buttons" in fields:
            fields["buttons"] = _keyboard(fields["buttons"])
        if "entries" in fields:
            fields["entries"] = tuple(
                DigestEntry(**(e | {"buttons": _keyboard(e["buttons"])}))
                for e in fields["entries"]
            )
        if "target" in fields:
            fields["target"] = Earlier(**fields["target"])
        intent: Intent = cls(**fields)
    except (ValueError, TypeError, KeyError) as exc:
        raise IntentError(f"unreadable {kind!r} intent: {exc}") from exc
    return intent


def _press(data: str) -> Press:
    press = decode(data)
    if press is None:
        raise IntentError(f"stored button data {data!r} does not decode")
    return press
