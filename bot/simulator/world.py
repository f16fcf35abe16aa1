"""The simulated Telegram world: users, chats, messages, callback queries and files."""

from __future__ import annotations

import copy
import hashlib
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .formatting import command_entities
from .spec import BadRequest

# A 1x1 white JPEG: what a fabricated photo "contains" when downloaded.
TINY_JPEG = bytes.fromhex(
    "ffd8ffe000104a46494600010100000100010000ffdb004300080606070605080707070909080a0c140d0c0b0b0c"
    "1912130f141d1a1f1e1d1a1c1c20242e2720222c231c1c2837292c30313434341f27393d38323c2e333432ffc0"
    "000b080001000101011100ffc4001f0000010501010101010100000000000000000102030405060708090a0bff"
    "c400b5100002010303020403050504040000017d01020300041105122131410613516107227114328191a10823"
    "42b1c11552d1f02433627282090a161718191a25262728292a3435363738393a434445464748494a5354555657"
    "58595a636465666768696a737475767778797a838485868788898a92939495969798999aa2a3a4a5a6a7a8a9aa"
    "b2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae1e2e3e4e5e6e7e8e9eaf1f2f3f4f5f6f7f8"
    "f9faffda0008010100003f00fbd3ffd9"
)


@dataclass
class StoredMessage:
    """One message in a chat: the API object plus what only the simulator knows."""

    msg: dict[str, Any]  # exactly what the Bot API returns (spec-valid)
    from_bot: bool
    markup: dict[str, Any] | None = None  # any markup the bot sent (inline, force reply, ...)
    deleted: bool = False

    def view(self) -> dict[str, Any]:
        """The message as a test sees it: the API object, plus any non-inline markup."""
        out = copy.deepcopy(self.msg)
        if self.markup is not None:
            out["reply_markup"] = copy.deepcopy(self.markup)
        return out


@dataclass
class ChatState:
    """A chat and its history."""

    chat: dict[str, Any]
    messages: list[StoredMessage] = field(default_factory=list)
    by_id: dict[int, StoredMessage] = field(default_factory=dict)
    next_message_id: int = 1
    started: bool = False  # private: the user has written to the bot
    blocked: bool = False  # private: the user blocked the bot
    bot_removed: bool = False  # group: the bot was removed
    bot_can_post: bool = True  # group: the bot may send messages
    bot_is_admin: bool = False  # group: the bot is an administrator
    migrated_to: int | None = None  # group: upgraded to this supergroup
    topics: dict[int, str] = field(default_factory=dict)  # forum: thread id -> topic name

    @property
    def is_forum(self) -> bool:
        """True for a supergroup with topics."""
        return bool(self.chat.get("is_forum"))

    @property
    def is_private(self) -> bool:
        """True for a one-to-one chat with a user."""
        return bool(self.chat["type"] == "private")


@dataclass
class CallbackRecord:
    """A callback query the bot has not answered yet."""

    chat_id: int
    message_id: int
    created: float
    answered: bool = False


@dataclass
class FileRecord:
    """A file Telegram holds."""

    file_id: str
    file_unique_id: str
    data: bytes
    file_path: str


class World:
    """Everything the simulated Telegram knows, with no I/O."""

    def __init__(self, bot_id: int, bot_username: str, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.bot_user: dict[str, Any] = {
            "id": bot_id,
            "is_bot": True,
            "first_name": "回音",
            "username": bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": True,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }
        self.users: dict[int, dict[str, Any]] = {}
        self.chats: dict[int, ChatState] = {}
        self.callbacks: dict[str, CallbackRecord] = {}
        self.files: dict[str, FileRecord] = {}
        # A document's name and type as first sent (a resend by file_id shows them again).
        self.document_names: dict[str, dict[str, str]] = {}
        self._ids = itertools.count(1)

    # --- people and chats ---------------------------------------------------------------

    def now(self) -> int:
        """Unix time as Telegram stamps it."""
        return int(self.clock())

    def add_user(self, user_id: int, first_name: str, username: str | None,
                 last_name: str | None) -> dict[str, Any]:
        """Register a user and their private chat with the bot."""
        if user_id <= 0:
            raise ValueError("user ids are positive")
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
        chat: dict[str, Any] = {"id": user_id, "type": "private", "first_name": first_name}
        if last_name:
            user["last_name"] = chat["last_name"] = last_name
        if username:
            user["username"] = chat["username"] = username
        user["language_code"] = "zh-hans"
        self.users[user_id] = user
        if user_id not in self.chats:
            self.chats[user_id] = ChatState(chat=chat)
        else:
            self.chats[user_id].chat = chat
        return copy.deepcopy(user)

    def add_group(self, chat_id: int, title: str, username: str | None,
                  *, kind: str = "supergroup", forum: bool = False) -> dict[str, Any]:
        """Register a group or supergroup (optionally with topics) the bot is a member of."""
        if chat_id >= 0:
            raise ValueError("group chat ids are negative")
        chat: dict[str, Any] = {"id": chat_id, "type": kind, "title": title}
        if username:
            chat["username"] = username
        if forum:
            chat["is_forum"] = True
        self.chats[chat_id] = ChatState(chat=chat)
        return copy.deepcopy(chat)

    def user(self, user_id: int) -> dict[str, Any]:
        """The User object of a registered user."""
        try:
            return self.users[user_id]
        except KeyError:
            raise ValueError(f"unknown user {user_id}: call add_user first") from None

    def chat_state(self, chat_id: int) -> ChatState:
        """The chat with that id (control API side: unknown chats are a test error)."""
        try:
            return self.chats[chat_id]
        except KeyError:
            raise ValueError(f"unknown chat {chat_id}: add_user/add_group first") from None

    def resolve_chat(self, chat_id: int | str) -> ChatState:
        """The chat a Bot API call names, or Telegram's "chat not found"."""
        if isinstance(chat_id, str):
            if chat_id.startswith("@"):
                for state in self.chats.values():
                    if state.chat.get("username") == chat_id[1:] and not state.is_private:
                        return state
            raise BadRequest("Bad Request: chat not found")
        found = self.chats.get(chat_id)
        if found is None:
            raise BadRequest("Bad Request: chat not found")
        if found.migrated_to is not None:
            raise BadRequest("Bad Request: group chat was upgraded to a supergroup chat", 400,
                             {"migrate_to_chat_id": found.migrated_to})
        return found

    def bot_membership(self, state: ChatState) -> dict[str, Any]:
        """The bot's ChatMember in a chat (member, administrator, left or kicked)."""
        bot = copy.deepcopy(self.bot_user)
        if state.bot_removed:
            return {"status": "left", "user": bot}
        if state.bot_is_admin:
            return {
                "status": "administrator", "user": bot, "can_be_edited": False,
                "is_anonymous": False, "can_manage_chat": True, "can_delete_messages": True,
                "can_manage_video_chats": False, "can_restrict_members": False,
                "can_promote_members": False, "can_change_info": False,
                "can_invite_users": True, "can_post_stories": False, "can_edit_stories": False,
                "can_delete_stories": False,
            }
        return {"status": "member", "user": bot}

    def check_can_send(self, state: ChatState) -> None:
        """Raise Telegram's 403/400 if the bot may not post in that chat."""
        if state.is_private:
            if state.blocked:
                raise BadRequest("Forbidden: bot was blocked by the user", 403)
            if not state.started:
                raise BadRequest("Forbidden: bot can't initiate conversation with a user", 403)
        elif state.bot_removed:
            raise BadRequest("Forbidden: bot was kicked from the supergroup chat", 403)
        elif not state.bot_can_post:
            raise BadRequest("Bad Request: not enough rights to send text messages to the chat")

    # --- messages -----------------------------------------------------------------------

    def new_message(self, state: ChatState, sender: dict[str, Any], from_bot: bool,
                    body: dict[str, Any], markup: dict[str, Any] | None = None) -> StoredMessage:
        """Append a message to a chat and return it."""
        msg: dict[str, Any] = {
            "message_id": state.next_message_id,
            "from": copy.deepcopy(sender),
            "chat": copy.deepcopy(state.chat),
            "date": self.now(),
        }
        msg.update(body)
        if markup is not None and "inline_keyboard" in markup:
            msg["reply_markup"] = copy.deepcopy(markup)
        state.next_message_id += 1
        stored = StoredMessage(msg=msg, from_bot=from_bot, markup=markup)
        state.messages.append(stored)
        state.by_id[msg["message_id"]] = stored
        return stored

    def find_message(self, state: ChatState, message_id: int) -> StoredMessage | None:
        """A live message of the chat, or None."""
        stored = state.by_id.get(message_id)
        return None if stored is None or stored.deleted else stored

    def reply_copy(self, stored: StoredMessage) -> dict[str, Any]:
        """The replied-to message as Telegram embeds it (no further nesting)."""
        out = copy.deepcopy(stored.msg)
        out.pop("reply_to_message", None)
        return out

    def user_message(self, user_id: int, chat_id: int | None, body: dict[str, Any],
                     reply_to_message_id: int | None = None,
                     thread_id: int | None = None) -> StoredMessage:
        """A message a user writes (to a private chat when chat_id is None); in a forum,
        ``thread_id`` names the topic (a reply goes to the topic of the replied-to post)."""
        user = self.user(user_id)
        state = self.chat_state(user_id if chat_id is None else chat_id)
        if state.is_private:
            if state.chat["id"] != user_id:
                raise ValueError("a user can only write in their own private chat")
            state.started = True
        if state.migrated_to is not None:
            raise ValueError(f"chat {state.chat['id']} became {state.migrated_to}")
        if reply_to_message_id is not None:
            target = self.find_message(state, reply_to_message_id)
            if target is None:
                raise ValueError(f"no message {reply_to_message_id} in chat {state.chat['id']}")
            body = {**body, "reply_to_message": self.reply_copy(target)}
            if thread_id is None:
                thread_id = target.msg.get("message_thread_id")
        if thread_id is not None and state.is_forum:
            body = {**body, "message_thread_id": thread_id, "is_topic_message": True}
        return self.new_message(state, user, False, body)

    def text_body(self, text: str) -> dict[str, Any]:
        """Body of a user's text message, with bot_command entities."""
        body: dict[str, Any] = {"text": text}
        entities = command_entities(text)
        if entities:
            body["entities"] = entities
        return body

    # --- files --------------------------------------------------------------------------

    def new_file(self, data: bytes, folder: str = "photos", ext: str = "jpg") -> FileRecord:
        """Store bytes as a Telegram file and return its record."""
        n = next(self._ids)
        digest = hashlib.sha1(data + n.to_bytes(8, "big")).hexdigest()
        record = FileRecord(
            file_id=f"AgAC{digest[:40]}",
            file_unique_id=f"AQAD{digest[40:]}{n}",
            data=data,
            file_path=f"{folder}/file_{n}.{ext}",
        )
        self.files[record.file_id] = record
        return record

    def photo_sizes(self, data: bytes) -> list[dict[str, Any]]:
        """A PhotoSize list (three sizes) for one uploaded picture."""
        sizes = []
        for width, height in ((90, 68), (320, 240), (1280, 960)):
            record = self.new_file(data)
            sizes.append({
                "file_id": record.file_id,
                "file_unique_id": record.file_unique_id,
                "file_size": len(data),
                "width": width,
                "height": height,
            })
        return sizes

    def file_group(self, file_id: str) -> list[dict[str, Any]] | None:
        """The PhotoSize list a known file_id belongs to (for re-sending by file_id)."""
        if file_id not in self.files:
            return None
        for state in self.chats.values():
            for stored in state.messages:
                photo = stored.msg.get("photo")
                if photo and any(p["file_id"] == file_id for p in photo):
                    return copy.deepcopy(photo)
        record = self.files[file_id]
        return [{"file_id": record.file_id, "file_unique_id": record.file_unique_id,
                 "file_size": len(record.data), "width": 1280, "height": 960}]

    # --- callback queries ---------------------------------------------------------------

    def new_callback(self, chat_id: int, message_id: int) -> str:
        """Register a callback query and return its id."""
        query_id = str(4_000_000_000_000_000_000 + next(self._ids))
        self.callbacks[query_id] = CallbackRecord(chat_id, message_id, self.clock())
        return query_id

    def chat_instance(self, chat_id: int) -> str:
        """The stable chat_instance string of a chat."""
        return str(int(hashlib.sha1(str(chat_id).encode()).hexdigest()[:15], 16))
