"""Bot API methods that act on the world (everything but updates and webhooks)."""

from __future__ import annotations

import copy
import mimetypes
from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse

from .formatting import MAX_CAPTION, MAX_TEXT, parse, utf16_len
from .spec import BadRequest, UploadedFile
from .world import TINY_JPEG, ChatState, StoredMessage, World

Params = dict[str, Any]
CALLBACK_TEXT_MAX = 200
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
QUERY_TOO_OLD = (
    "Bad Request: query is too old and response timeout expired or query ID is invalid"
)
_BUTTON_ACTIONS = (
    "url", "callback_data", "web_app", "login_url", "switch_inline_query",
    "switch_inline_query_current_chat", "switch_inline_query_chosen_chat", "copy_text",
    "callback_game", "pay",
)
CHAT_ACTIONS = frozenset({
    "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
    "upload_document", "choose_sticker", "find_location", "record_video_note",
    "upload_video_note",
})


MAX_UPLOAD = 50 * 1024 * 1024  # Telegram: a bot uploads files of at most 50 MB


class Methods:
    """Implementations of the world-changing Bot API methods."""

    def __init__(self, world: World, callback_ttl: float) -> None:
        self.world = world
        self.callback_ttl = callback_ttl
        self.commands: dict[str, list[dict[str, Any]]] = {}
        self.descriptions: dict[str, str] = {}  # "description|lang", "short|lang" -> text
        self.callback_answers: list[dict[str, Any]] = []
        self.on_bot_message: Callable[[int, StoredMessage], None] = lambda chat_id, m: None
        self.before_post: Callable[[str, ChatState], None] = lambda method, state: None

    def handler(self, method: str) -> Callable[[Params], Any] | None:
        """The implementation of a method, if this class has one."""
        impl: Callable[[Params], Any] | None = getattr(self, f"m_{method}", None)
        return impl

    # --- sending ------------------------------------------------------------------------

    def m_getMe(self, p: Params) -> Any:
        """getMe."""
        return copy.deepcopy(self.world.bot_user)

    def m_sendMessage(self, p: Params) -> Any:
        """sendMessage."""
        state = self.world.resolve_chat(p["chat_id"])
        text, entities = parse(p["text"], p.get("parse_mode"), p.get("entities"))
        _check_text(text)
        markup = self._markup(p.get("reply_markup"))
        self.world.check_can_send(state)
        body: dict[str, Any] = {"text": text}
        if entities:
            body["entities"] = entities
        self._topic(state, p, body)
        self._reply(state, p, body)
        lpo = p.get("link_preview_options")
        if isinstance(lpo, dict) and lpo.get("is_disabled"):
            body["link_preview_options"] = {"is_disabled": True}
        return self._post("sendMessage", state, body, markup)

    def m_sendPhoto(self, p: Params) -> Any:
        """sendPhoto."""
        state = self.world.resolve_chat(p["chat_id"])
        photo = p["photo"]
        if isinstance(photo, UploadedFile):
            if not photo.data:
                raise BadRequest("Bad Request: file must be non-empty")
            sizes = self.world.photo_sizes(photo.data)
        elif _is_url(photo):
            sizes = self.world.photo_sizes(TINY_JPEG)
        else:
            found = self.world.file_group(photo)
            if found is None:
                raise BadRequest("Bad Request: wrong file identifier/HTTP URL specified")
            sizes = found
        body: dict[str, Any] = {"photo": sizes}
        self._caption(p, body)
        markup = self._markup(p.get("reply_markup"))
        self.world.check_can_send(state)
        self._topic(state, p, body)
        self._reply(state, p, body)
        return self._post("sendPhoto", state, body, markup)

    def m_sendDocument(self, p: Params) -> Any:
        """sendDocument: an upload (multipart, at most 50 MB), a known file_id or a URL."""
        state = self.world.resolve_chat(p["chat_id"])
        document = p["document"]
        if isinstance(document, UploadedFile):
            if not document.data:
                raise BadRequest("Bad Request: file must be non-empty")
            if len(document.data) > MAX_UPLOAD:
                raise BadRequest("Request Entity Too Large", error_code=413)
            name = document.filename or "document"
            ext = name.rsplit(".", 1)[1] if "." in name else "bin"
            record = self.world.new_file(document.data, "documents", ext)
            mime = document.content_type
            if not mime or mime == "application/octet-stream":
                mime = mimetypes.guess_type(name)[0] or "application/octet-stream"
            sent = {"file_name": name, "mime_type": mime}
        elif _is_url(document):
            record = self.world.new_file(TINY_JPEG, "documents", "jpg")
            sent = {"file_name": urlparse(document).path.rsplit("/", 1)[-1] or "file"}
        else:
            found = self.world.files.get(document)
            if found is None:
                raise BadRequest("Bad Request: wrong file identifier/HTTP URL specified")
            record, sent = found, self.world.document_names.get(document, {})
        self.world.document_names[record.file_id] = sent
        body: dict[str, Any] = {"document": {
            "file_id": record.file_id,
            "file_unique_id": record.file_unique_id,
            **sent,
            "file_size": len(record.data),
        }}
        self._caption(p, body)
        markup = self._markup(p.get("reply_markup"))
        self.world.check_can_send(state)
        self._topic(state, p, body)
        self._reply(state, p, body)
        return self._post("sendDocument", state, body, markup)

    @staticmethod
    def _caption(p: Params, body: dict[str, Any]) -> None:
        if p.get("caption"):
            caption, entities = parse(p["caption"], p.get("parse_mode"),
                                      p.get("caption_entities"))
            if utf16_len(caption) > MAX_CAPTION:
                raise BadRequest("Bad Request: message caption is too long")
            if caption:
                body["caption"] = caption
            if entities:
                body["caption_entities"] = entities

    def m_sendLocation(self, p: Params) -> Any:
        """sendLocation."""
        state = self.world.resolve_chat(p["chat_id"])
        body: dict[str, Any] = {"location": _point(p)}
        accuracy = p.get("horizontal_accuracy")
        if accuracy is not None:
            if not 0 <= float(accuracy) <= 1500:
                raise BadRequest("Bad Request: wrong horizontal accuracy specified")
            body["location"]["horizontal_accuracy"] = float(accuracy)
        markup = self._markup(p.get("reply_markup"))
        self.world.check_can_send(state)
        self._topic(state, p, body)
        self._reply(state, p, body)
        return self._post("sendLocation", state, body, markup)

    def m_sendVenue(self, p: Params) -> Any:
        """sendVenue (the message carries the venue and its location, as Telegram's does)."""
        state = self.world.resolve_chat(p["chat_id"])
        point = _point(p)
        title, address = str(p["title"]).strip(), str(p["address"]).strip()
        if not title:
            raise BadRequest("Bad Request: venue title is empty")
        if not address:
            raise BadRequest("Bad Request: venue address is empty")
        venue: dict[str, Any] = {"location": dict(point), "title": title, "address": address}
        for key in ("foursquare_id", "foursquare_type", "google_place_id", "google_place_type"):
            if p.get(key):
                venue[key] = str(p[key])
        body: dict[str, Any] = {"location": point, "venue": venue}
        markup = self._markup(p.get("reply_markup"))
        self.world.check_can_send(state)
        self._topic(state, p, body)
        self._reply(state, p, body)
        return self._post("sendVenue", state, body, markup)

    def m_sendChatAction(self, p: Params) -> Any:
        """sendChatAction."""
        state = self.world.resolve_chat(p["chat_id"])
        if p["action"] not in CHAT_ACTIONS:
            raise BadRequest("Bad Request: wrong parameter action in request")
        self.world.check_can_send(state)
        return True

    def _post(self, method: str, state: ChatState, body: dict[str, Any],
              markup: dict[str, Any] | None) -> Any:
        self.before_post(method, state)
        stored = self.world.new_message(state, self.world.bot_user, True, body, markup)
        self.on_bot_message(state.chat["id"], stored)
        return copy.deepcopy(stored.msg)

    def _reply(self, state: ChatState, p: Params, body: dict[str, Any]) -> None:
        params = p.get("reply_parameters")
        if not params:
            return
        target_chat = state
        if "chat_id" in params:
            target_chat = self.world.resolve_chat(params["chat_id"])
        target = self.world.find_message(target_chat, int(params["message_id"]))
        if target is None:
            if params.get("allow_sending_without_reply"):
                return
            raise BadRequest("Bad Request: message to be replied not found")
        if target_chat is state:
            body["reply_to_message"] = self.world.reply_copy(target)
            topic = target.msg.get("message_thread_id")
            if topic is not None and "message_thread_id" not in p:
                body["message_thread_id"] = topic
                body["is_topic_message"] = True

    def _topic(self, state: ChatState, p: Params, body: dict[str, Any]) -> None:
        """Place a message in the forum topic ``message_thread_id`` names (else General)."""
        topic = p.get("message_thread_id")
        if topic is None or not state.is_forum:
            return
        if int(topic) not in state.topics:
            raise BadRequest("Bad Request: message thread not found")
        body["message_thread_id"] = int(topic)
        body["is_topic_message"] = True

    def _markup(self, markup: Any) -> dict[str, Any] | None:
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise BadRequest("Bad Request: can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            _check_inline_keyboard(markup)
        elif "keyboard" in markup:
            rows = markup["keyboard"]
            if not rows or not all(isinstance(r, list) for r in rows):
                raise BadRequest("Bad Request: keyboard must be non-empty")
        elif markup.get("force_reply") is not True and markup.get("remove_keyboard") is not True:
            raise BadRequest("Bad Request: can't parse reply keyboard markup JSON object")
        return copy.deepcopy(markup)

    # --- editing ------------------------------------------------------------------------

    def _target(self, p: Params) -> StoredMessage:
        if "inline_message_id" in p:
            raise BadRequest("Bad Request: MESSAGE_ID_INVALID")
        if "message_id" not in p:
            raise BadRequest("Bad Request: message identifier is not specified")
        if "chat_id" not in p:
            raise BadRequest("Bad Request: chat_id is empty")
        state = self.world.resolve_chat(p["chat_id"])
        if state.is_private and state.blocked:
            raise BadRequest("Forbidden: bot was blocked by the user", 403)
        stored = self.world.find_message(state, p["message_id"])
        if stored is None:
            raise BadRequest("Bad Request: message to edit not found")
        if not stored.from_bot:
            raise BadRequest("Bad Request: message can't be edited")
        return stored

    def _edited(self, stored: StoredMessage, changes: dict[str, Any],
                markup: dict[str, Any] | None) -> Any:
        msg = stored.msg
        current = {k: msg.get(k) for k in changes}
        new_markup = markup if markup is not None else None
        if current == {k: v for k, v in changes.items()} and msg.get("reply_markup") == new_markup:
            raise BadRequest(NOT_MODIFIED)
        for key, value in changes.items():
            if value is None:
                msg.pop(key, None)
            else:
                msg[key] = value
        if new_markup is None:
            msg.pop("reply_markup", None)
        else:
            msg["reply_markup"] = copy.deepcopy(new_markup)
        if new_markup is not None or (stored.markup or {}).get("inline_keyboard") is not None:
            stored.markup = copy.deepcopy(new_markup)  # reply keyboards are not edited away
        msg["edit_date"] = self.world.now()
        self.on_bot_message(msg["chat"]["id"], stored)
        return copy.deepcopy(msg)

    def m_editMessageText(self, p: Params) -> Any:
        """editMessageText (a missing reply_markup removes the inline keyboard, as Telegram)."""
        if "text" not in p:
            raise BadRequest("Bad Request: message text is empty")
        stored = self._target(p)
        if "text" not in stored.msg:
            raise BadRequest("Bad Request: there is no text in the message to edit")
        text, entities = parse(p["text"], p.get("parse_mode"), p.get("entities"))
        _check_text(text)
        markup = self._inline_only(p.get("reply_markup"))
        return self._edited(stored, {"text": text, "entities": entities or None}, markup)

    def m_editMessageCaption(self, p: Params) -> Any:
        """editMessageCaption."""
        stored = self._target(p)
        if "text" in stored.msg:
            raise BadRequest("Bad Request: there is no caption in the message to edit")
        caption, entities = parse(p.get("caption", ""), p.get("parse_mode"),
                                  p.get("caption_entities"))
        if utf16_len(caption) > MAX_CAPTION:
            raise BadRequest("Bad Request: message caption is too long")
        markup = self._inline_only(p.get("reply_markup"))
        changes = {"caption": caption or None, "caption_entities": entities or None}
        return self._edited(stored, changes, markup)

    def m_editMessageReplyMarkup(self, p: Params) -> Any:
        """editMessageReplyMarkup (no reply_markup removes the keyboard)."""
        stored = self._target(p)
        markup = self._inline_only(p.get("reply_markup"))
        return self._edited(stored, {}, markup)

    def _inline_only(self, markup: Any) -> dict[str, Any] | None:
        if markup is None:
            return None
        if not isinstance(markup, dict) or "inline_keyboard" not in markup:
            raise BadRequest("Bad Request: can't parse inline keyboard markup JSON object")
        _check_inline_keyboard(markup)
        if not any(markup["inline_keyboard"]):
            return None
        return copy.deepcopy(markup)

    def m_deleteMessage(self, p: Params) -> Any:
        """deleteMessage (own messages anywhere, others' only in private chats)."""
        state = self.world.resolve_chat(p["chat_id"])
        stored = self.world.find_message(state, p["message_id"])
        if stored is None:
            raise BadRequest("Bad Request: message to delete not found")
        if not stored.from_bot and not state.is_private:
            raise BadRequest("Bad Request: message can't be deleted")
        stored.deleted = True
        return True

    # --- callback queries ---------------------------------------------------------------

    def m_answerCallbackQuery(self, p: Params) -> Any:
        """answerCallbackQuery: each query once, within the time limit."""
        record = self.world.callbacks.get(p["callback_query_id"])
        if record is None or record.answered or (
            self.world.clock() - record.created > self.callback_ttl
        ):
            raise BadRequest(QUERY_TOO_OLD)
        text = p.get("text")
        if text is not None and utf16_len(text) > CALLBACK_TEXT_MAX:
            raise BadRequest("Bad Request: MESSAGE_TOO_LONG")
        record.answered = True
        answer = {"callback_query_id": p["callback_query_id"], "text": text,
                  "show_alert": bool(p.get("show_alert", False))}
        if "url" in p:
            answer["url"] = p["url"]
        self.callback_answers.append(answer)
        return True

    # --- chats, files, commands ---------------------------------------------------------

    def m_getChat(self, p: Params) -> Any:
        """getChat: a ChatFullInfo."""
        state = self.world.resolve_chat(p["chat_id"])
        if state.is_private and not state.started:
            raise BadRequest("Bad Request: chat not found")
        info = copy.deepcopy(state.chat)
        info.update({
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False, "limited_gifts": False, "unique_gifts": False,
                "premium_subscription": False, "gifts_from_channels": False,
            },
        })
        return info

    def m_getFile(self, p: Params) -> Any:
        """getFile."""
        record = self.world.files.get(p["file_id"])
        if record is None:
            raise BadRequest("Bad Request: invalid file_id")
        return {"file_id": record.file_id, "file_unique_id": record.file_unique_id,
                "file_size": len(record.data), "file_path": record.file_path}

    @staticmethod
    def _scope_key(p: Params) -> str:
        scope = p.get("scope") or {"type": "default"}
        return f"{sorted(scope.items())}|{p.get('language_code', '')}"

    def m_setMyCommands(self, p: Params) -> Any:
        """setMyCommands."""
        commands = p["commands"]
        if len(commands) > 100:
            raise BadRequest("Bad Request: too many commands")
        for command in commands:
            name = command["command"]
            if not (1 <= len(name) <= 32) or not all(c.islower() or c.isdigit() or c == "_"
                                                     for c in name):
                raise BadRequest("Bad Request: BOT_COMMAND_INVALID")
            if not (1 <= len(command["description"]) <= 256):
                raise BadRequest("Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        self.commands[self._scope_key(p)] = copy.deepcopy(commands)
        return True

    def m_getMyCommands(self, p: Params) -> Any:
        """getMyCommands."""
        return copy.deepcopy(self.commands.get(self._scope_key(p), []))

    def m_deleteMyCommands(self, p: Params) -> Any:
        """deleteMyCommands."""
        self.commands.pop(self._scope_key(p), None)
        return True

    def m_setMyDescription(self, p: Params) -> Any:
        """setMyDescription (at most 512 characters; empty removes it)."""
        return self._set_description("description", p, 512)

    def m_getMyDescription(self, p: Params) -> Any:
        """getMyDescription."""
        key = f"description|{p.get('language_code', '')}"
        return {"description": self.descriptions.get(key, "")}

    def m_setMyShortDescription(self, p: Params) -> Any:
        """setMyShortDescription (at most 120 characters; empty removes it)."""
        return self._set_description("short_description", p, 120)

    def m_getMyShortDescription(self, p: Params) -> Any:
        """getMyShortDescription."""
        key = f"short_description|{p.get('language_code', '')}"
        return {"short_description": self.descriptions.get(key, "")}

    def _set_description(self, kind: str, p: Params, limit: int) -> bool:
        text = p.get(kind, "")
        if len(text) > limit:
            raise BadRequest(f"Bad Request: {kind.upper()}_INVALID")
        self.descriptions[f"{kind}|{p.get('language_code', '')}"] = text
        return True

    def m_getChatMember(self, p: Params) -> Any:
        """getChatMember: the bot's own membership (member, administrator or left)."""
        state = self.world.resolve_chat(p["chat_id"])
        user_id = int(p["user_id"])
        if user_id != self.world.bot_user["id"]:
            user = self.world.users.get(user_id)
            if user is None:
                raise BadRequest("Bad Request: user not found")
            return {"status": "member", "user": copy.deepcopy(user)}
        return self.world.bot_membership(state)


def _point(p: Params) -> dict[str, Any]:
    """The latitude and longitude of a send, refused out of range as Telegram does."""
    latitude, longitude = float(p["latitude"]), float(p["longitude"])
    if not -90 <= latitude <= 90 or not -180 <= longitude <= 180:
        raise BadRequest("Bad Request: wrong latitude or longitude specified")
    return {"latitude": latitude, "longitude": longitude}


def _check_text(text: str) -> None:
    if not text:
        raise BadRequest("Bad Request: message text is empty")
    if utf16_len(text) > MAX_TEXT:
        raise BadRequest("Bad Request: message is too long")


def _is_url(value: str) -> bool:
    parsed = urlparse(value)
    return parsed.scheme in ("http", "https") and bool(parsed.netloc)


def _check_inline_keyboard(markup: dict[str, Any]) -> None:
    for row in markup["inline_keyboard"]:
        for button in row:
            actions = [a for a in _BUTTON_ACTIONS if a in button]
            if not actions:
                raise BadRequest(
                    "Bad Request: can't parse inline keyboard button: Text buttons are "
                    "unallowed in the inline keyboard"
                )
            if len(actions) > 1:
                raise BadRequest(
                    "Bad Request: can't parse inline keyboard button: only one of the optional "
                    "fields must be used"
                )
            if "callback_data" in button:
                size = len(button["callback_data"].encode("utf-8"))
                if not 1 <= size <= 64:
                    raise BadRequest("Bad Request: BUTTON_DATA_INVALID")
            if "url" in button and not urlparse(button["url"]).scheme:
                raise BadRequest("Bad Request: BUTTON_URL_INVALID")
            if not button["text"]:
                raise BadRequest("Bad Request: text buttons are unallowed in the inline keyboard")
