"""The people and chats on the other side of the simulated Telegram: what they do (send, press,
join, leave) becomes updates for the bot, and what the bot sends is what they see."""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Callable
from typing import Any

from .state import SimulatorState, _Pending
from .world import TINY_JPEG, StoredMessage


class Acting(SimulatorState):
    """Users and chats: add them, act as them, read what the bot showed them."""

    # --- people and chats ---------------------------------------------------------------

    def add_user(self, user_id: int, first_name: str, username: str | None = None,
                 last_name: str | None = None, *, started: bool = False) -> dict[str, Any]:
        """Add a user (private chat id == user id); ``started`` as if they had written first."""
        user = self.world.add_user(user_id, first_name, username, last_name)
        self.world.chats[user_id].started = started or self.world.chats[user_id].started
        return user

    def add_group(self, chat_id: int, title: str, *, username: str | None = None,
                  bot_can_post: bool = True, kind: str = "supergroup",
                  forum: bool = False) -> dict[str, Any]:
        """Add a supergroup (negative id; ``kind="group"`` for a basic group) with the bot in
        it; ``forum`` gives it topics (see :meth:`add_topic`)."""
        chat = self.world.add_group(chat_id, title, username, kind=kind, forum=forum)
        self.world.chats[chat_id].bot_can_post = bot_can_post
        return chat

    def set_privacy_mode(self, enabled: bool) -> None:
        """BotFather's /setprivacy: with it on, getMe says the bot cannot read group posts."""
        self.world.bot_user["can_read_all_group_messages"] = not enabled

    def add_bot_to_group(self, chat_id: int, title: str, by_user: int, *,
                         admin: bool = False, kind: str = "supergroup",
                         forum: bool = False) -> dict[str, Any]:
        """A user adds the bot to a group (as an administrator if ``admin``): the group
        exists from now on and the bot gets a my_chat_member update."""
        state = self.world.chats.get(chat_id)
        if state is None:
            self.add_group(chat_id, title, kind=kind, forum=forum)
            state = self.world.chat_state(chat_id)
        state.bot_removed = False
        state.bot_is_admin = admin
        self._member_update(chat_id, "left", "administrator" if admin else "member",
                            by_user=by_user)
        return copy.deepcopy(state.chat)

    def remove_bot_from_group(self, chat_id: int, by_user: int) -> None:
        """A user removes the bot from a group: 403 from now on, and a my_chat_member update."""
        state = self.world.chat_state(chat_id)
        old = "administrator" if state.bot_is_admin else "member"
        state.bot_removed = True
        state.bot_is_admin = False
        self._member_update(chat_id, old, "left", by_user=by_user)

    def add_topic(self, chat_id: int, name: str, by_user: int) -> int:
        """A user opens a forum topic; returns its message_thread_id (as Telegram, the id of
        the forum_topic_created service message)."""
        state = self.world.chat_state(chat_id)
        if not state.is_forum:
            raise ValueError(f"chat {chat_id} has no topics")
        thread_id = state.next_message_id
        state.topics[thread_id] = name
        body = {"forum_topic_created": {"name": name, "icon_color": 7322096},
                "message_thread_id": thread_id, "is_topic_message": True}
        self._user_sent(self.world.user_message(by_user, chat_id, body))
        return thread_id

    def migrate_group(self, chat_id: int, new_chat_id: int, by_user: int) -> None:
        """A basic group becomes a supergroup with a new id: both chats get the service
        message, and calls naming the old id fail with ``migrate_to_chat_id``."""
        old = self.world.chat_state(chat_id)
        self.world.add_group(new_chat_id, old.chat.get("title", ""), None)
        new = self.world.chat_state(new_chat_id)
        new.bot_can_post, new.bot_is_admin = old.bot_can_post, old.bot_is_admin
        self._user_sent(self.world.user_message(
            by_user, chat_id, {"migrate_to_chat_id": new_chat_id}))
        old.migrated_to = new_chat_id
        self._user_sent(self.world.user_message(
            by_user, new_chat_id, {"migrate_from_chat_id": chat_id}))

    def block(self, user_id: int) -> None:
        """The user blocks the bot: 403 from now on, and a my_chat_member update."""
        state = self.world.chat_state(user_id)
        state.blocked = True
        self._member_update(user_id, "member", "kicked")

    def unblock(self, user_id: int) -> None:
        """The user unblocks (restarts) the bot."""
        state = self.world.chat_state(user_id)
        state.blocked = False
        state.started = True
        self._member_update(user_id, "kicked", "member")

    def remove_bot(self, chat_id: int) -> None:
        """The bot is removed from a group: 403 from now on."""
        self.world.chat_state(chat_id).bot_removed = True

    def _member_update(self, chat_id: int, old: str, new: str,
                       by_user: int | None = None) -> None:
        state = self.world.chat_state(chat_id)
        was_admin = state.bot_is_admin

        def member(status: str) -> dict[str, Any]:
            if status == "administrator":
                state.bot_is_admin = True
                admin = self.world.bot_membership(state)
                state.bot_is_admin = was_admin
                return admin
            out: dict[str, Any] = {"status": status, "user": copy.deepcopy(self.world.bot_user)}
            if status == "kicked":
                out["until_date"] = 0
            return out

        self._push({"my_chat_member": {
            "chat": copy.deepcopy(state.chat),
            "from": copy.deepcopy(self.world.user(chat_id if by_user is None else by_user)),
            "date": self.world.now(),
            "old_chat_member": member(old),
            "new_chat_member": member(new),
        }})

    # --- inbound ------------------------------------------------------------------------

    def send_text(self, user_id: int, text: str, chat_id: int | None = None,
                  reply_to_message_id: int | None = None,
                  forward_origin: dict[str, Any] | None = None,
                  thread_id: int | None = None) -> dict[str, Any]:
        """The user writes ``text`` (private chat when chat_id is None; in a forum topic when
        ``thread_id`` is given); returns the Message."""
        body = self.world.text_body(text)
        if forward_origin is not None:
            body["forward_origin"] = copy.deepcopy(forward_origin)
        stored = self.world.user_message(user_id, chat_id, body, reply_to_message_id,
                                         thread_id=thread_id)
        return self._user_sent(stored)

    def send_photo(self, user_id: int, chat_id: int | None = None, caption: str | None = None,
                   *, data: bytes | None = None,
                   forward_origin: dict[str, Any] | None = None,
                   reply_to_message_id: int | None = None) -> dict[str, Any]:
        """The user sends or forwards a photo (fabricated PhotoSize list); returns the Message."""
        body: dict[str, Any] = {"photo": self.world.photo_sizes(data or TINY_JPEG)}
        if caption:
            body["caption"] = caption
        if forward_origin is not None:
            body["forward_origin"] = copy.deepcopy(forward_origin)
        stored = self.world.user_message(user_id, chat_id, body, reply_to_message_id)
        return self._user_sent(stored)

    def send_location(self, user_id: int, latitude: float, longitude: float,
                      chat_id: int | None = None) -> dict[str, Any]:
        """The user shares a location; returns the Message."""
        body = {"location": {"latitude": float(latitude), "longitude": float(longitude)}}
        return self._user_sent(self.world.user_message(user_id, chat_id, body))

    def edit_text(self, user_id: int, chat_id: int, message_id: int, text: str) -> dict[str, Any]:
        """The user edits their own text message; delivers an edited_message update."""
        stored = self.world.find_message(self.world.chat_state(chat_id), message_id)
        if stored is None or stored.from_bot or stored.msg["from"]["id"] != user_id:
            raise ValueError(f"user {user_id} has no message {message_id} in chat {chat_id}")
        stored.msg.update(self.world.text_body(text))
        if "entities" not in self.world.text_body(text):
            stored.msg.pop("entities", None)
        stored.msg["edit_date"] = self.world.now()
        self._transcript.append(f"[{chat_id}] {self._name(user_id)} edited #{message_id}: {text}")
        self._push({"edited_message": copy.deepcopy(stored.msg)})
        return copy.deepcopy(stored.msg)

    def press_button(self, user_id: int, chat_id: int, message_id: int, callback_data: str,
                     *, force: bool = False) -> dict[str, Any]:
        """The user presses an inline button on a bot message; returns the CallbackQuery.

        The button must be on the message as currently stored unless ``force`` (a stale
        client pressing a button that has since gone).
        """
        user = self.world.user(user_id)
        state = self.world.chat_state(chat_id)
        stored = self.world.find_message(state, message_id)
        if stored is None or not stored.from_bot:
            raise ValueError(f"no bot message {message_id} in chat {chat_id}")
        if state.is_private and chat_id != user_id:
            raise ValueError("a user can only press buttons in their own private chat")
        buttons = [
            b.get("callback_data")
            for row in (stored.msg.get("reply_markup") or {}).get("inline_keyboard", [])
            for b in row
        ]
        if callback_data not in buttons and not force:
            raise ValueError(
                f"message {message_id} in chat {chat_id} has no button {callback_data!r}; "
                f"it has {buttons}"
            )
        query = {
            "id": self.world.new_callback(chat_id, message_id),
            "from": copy.deepcopy(user),
            "message": copy.deepcopy(stored.msg),
            "chat_instance": self.world.chat_instance(chat_id),
            "data": callback_data,
        }
        self._transcript.append(f"[{chat_id}] {self._name(user_id)} pressed {callback_data!r}"
                                f" on #{message_id}")
        self._push({"callback_query": query})
        return copy.deepcopy(query)

    def push_raw_update(self, update: dict[str, Any]) -> None:
        """Deliver ``update`` exactly as given (no validation, no new update_id)."""
        self._updates.append(_Pending(copy.deepcopy(update), forced=True))
        self._last_inbound_seq = self._bump()

    def _user_sent(self, stored: StoredMessage) -> dict[str, Any]:
        msg = stored.msg
        what = msg.get("text") or msg.get("caption") or (
            "[photo]" if "photo" in msg else "[location]" if "location" in msg else "[message]"
        )
        self._transcript.append(f"[{msg['chat']['id']}] {self._name(msg['from']['id'])}: {what}")
        self.feed.append((msg["chat"]["id"], copy.deepcopy(msg)))
        self._push({"message": copy.deepcopy(msg)})
        return copy.deepcopy(msg)

    def _push(self, body: dict[str, Any]) -> None:
        update = {"update_id": self._next_update_id, **body}
        self._next_update_id += 1
        self._check("Update", update)
        self.delivered.append(copy.deepcopy(update))
        self._updates.append(_Pending(update))
        self._last_inbound_seq = self._bump()

    def _name(self, user_id: int) -> str:
        user = self.world.users.get(user_id)
        return user["first_name"] if user else str(user_id)

    # --- outbound, as users see it ------------------------------------------------------

    def chat_messages(self, chat_id: int) -> list[dict[str, Any]]:
        """Every live message in the chat in order, current state after edits."""
        state = self.world.chat_state(chat_id)
        return [m.view() for m in state.messages if not m.deleted]

    def bot_messages(self, chat_id: int) -> list[dict[str, Any]]:
        """The bot's live messages in the chat, current state after edits."""
        state = self.world.chat_state(chat_id)
        return [m.view() for m in state.messages if m.from_bot and not m.deleted]

    def _bot_message_changed(self, chat_id: int, stored: StoredMessage) -> None:
        seq = self._bump()
        view = stored.view()
        self._history.append((seq, chat_id, view))
        self.feed.append((chat_id, copy.deepcopy(view)))
        verb = "edited" if "edit_date" in view else "sent"
        buttons = [
            b.get("text") for row in (view.get("reply_markup") or {}).get("inline_keyboard", [])
            for b in row
        ]
        what = view.get("text") or view.get("caption") or "[photo]"
        extra = f" {buttons}" if buttons else ""
        self._transcript.append(f"[{chat_id}] bot {verb} #{view['message_id']}: {what}{extra}")

    async def wait_for_bot_message(
        self,
        chat_id: int,
        predicate: Callable[[dict[str, Any]], bool] = lambda m: True,
        timeout: float = 5.0,
        *,
        since: int | None = None,
    ) -> dict[str, Any]:
        """Wait for a bot message sent or edited in the chat that matches ``predicate``.

        Only changes after ``since`` count (default: the latest inbound event pushed through
        this control API, in any chat); the earliest matching one is returned, as it looked
        at that moment.
        """
        baseline = self._last_inbound_seq if since is None else since
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        checked = 0
        while True:
            for i in range(checked, len(self._history)):
                seq, cid, view = self._history[i]
                if seq > baseline and cid == chat_id and predicate(view):
                    return copy.deepcopy(view)
            checked = len(self._history)
            remaining = deadline - loop.time()
            if remaining <= 0:
                lines = "\n".join(
                    f"  #{m['message_id']} {'bot' if m['from']['id'] == self.bot_id else 'user'}"
                    f"{' (edited)' if 'edit_date' in m else ''}: "
                    f"{m.get('text') or m.get('caption') or '[media]'}"
                    f"{' ' + json.dumps(m['reply_markup'], ensure_ascii=False) if 'reply_markup' in m else ''}"  # noqa: E501
                    for m in self.chat_messages(chat_id)
                )
                raise TimeoutError(
                    f"no matching bot message in chat {chat_id} after {timeout}s "
                    f"(since change {baseline}); the chat holds:\n{lines or '  (nothing)'}"
                )
            await self._wait_change(remaining)

    async def wait_until(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        """Wait until ``predicate()`` is true (checked on every change and every 20 ms)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"condition not met within {timeout}s")
            await self._wait_change(min(remaining, 0.02))

    def transcript_lines(self) -> list[str]:
        """Readable log of what happened, in order."""
        return list(self._transcript)
