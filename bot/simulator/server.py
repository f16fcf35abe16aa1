"""The local Bot API server (aiohttp) and its Python control API, :class:`BotAPISimulator`."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from aiohttp import ClientSession, ClientTimeout, web

from .limits import FloodLimits
from .methods import Methods
from .spec import (
    BadRequest,
    UploadedFile,
    decode_params,
    method_names,
    method_returns,
    object_problems,
    validate_object,
)
from .world import TINY_JPEG, ChatState, StoredMessage, World

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
DEFAULT_EXCLUDED_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
CONFLICT_POLL = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance "
    "is running"
)
CONFLICT_WEBHOOK = (
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to "
    "delete the webhook first"
)


@dataclass
class _Fault:
    method: str
    error_code: int
    description: str
    times: int
    retry_after: int | None
    chat_id: int | None


@dataclass(eq=False)
class _Pending:
    update: dict[str, Any]
    forced: bool = False  # pushed raw: delivered once even if its update_id is behind offset
    delivered: bool = False


@dataclass
class _Webhook:
    url: str
    secret_token: str | None
    max_connections: int
    last_error_date: int | None = None
    last_error_message: str | None = None


class BotAPISimulator:
    """A local Telegram Bot API server plus the users and chats on the other side of it."""

    def __init__(
        self,
        token: str = "123456:TEST-TOKEN",
        bot_username: str = "huiyin_bot",
        bot_id: int = 123456,
        *,
        enforce_limits: bool = False,
        self_check: bool = True,
        callback_ttl: float = 15.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.token = token
        self.bot_id = bot_id
        self.bot_username = bot_username
        self.clock = clock
        self.world = World(bot_id, bot_username, clock)
        self.methods = Methods(self.world, callback_ttl)
        self.methods.on_bot_message = self._bot_message_changed
        self.methods.before_post = self._check_limits
        self.limits: FloodLimits | None = FloodLimits() if enforce_limits else None
        self.self_check = self_check
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.limit_hits: list[tuple[str, int, int]] = []  # (method, chat_id, retry_after)
        self.spec_violations: list[str] = []
        self.root_url = ""
        self._updates: list[_Pending] = []
        self._next_update_id = 1
        self._allowed_updates: list[str] = []
        self._webhook: _Webhook | None = None
        self._faults: list[_Fault] = []
        self._delays: list[list[Any]] = []  # [method, seconds, times, delivered]
        self._in_flight = 0
        self.delivered: list[dict[str, Any]] = []  # every update pushed, in order
        self.feed: list[tuple[int, dict[str, Any]]] = []  # (chat_id, message) as users saw it
        self._history: list[tuple[int, int, dict[str, Any]]] = []  # (seq, chat_id, view)
        self._transcript: list[str] = []
        self._seq = 0
        self._last_inbound_seq = 0
        self._poll_generation = 0
        self._event: asyncio.Event | None = None
        self._closing = False
        self._runner: web.AppRunner | None = None
        self._session: ClientSession | None = None
        self._webhook_task: asyncio.Task[None] | None = None
        self._methods_by_lower = {name.lower(): name for name in method_names()}

    # --- lifecycle ----------------------------------------------------------------------

    @property
    def callback_answers(self) -> list[dict[str, Any]]:
        """answerCallbackQuery calls that succeeded (callback_query_id, text, show_alert)."""
        return self.methods.callback_answers

    @property
    def seq(self) -> int:
        """Change counter; pass as ``since=`` to :meth:`wait_for_bot_message`."""
        return self._seq

    def build_app(self) -> web.Application:
        """The aiohttp application (also usable with aiohttp's test client)."""
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Serve on host:port (0 picks a free port); sets :attr:`root_url`."""
        self._closing = False
        self._runner = web.AppRunner(self.build_app(), shutdown_timeout=0.5, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound = self._runner.addresses[0]
        self.root_url = f"http://{host}:{bound[1]}"
        self._session = ClientSession(timeout=ClientTimeout(total=10))
        self._webhook_task = asyncio.create_task(self._webhook_loop(), name="sim-webhook")

    async def stop(self) -> None:
        """Stop serving; pending long polls return empty."""
        self._closing = True
        self._notify()
        if self._webhook_task is not None:
            self._webhook_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._webhook_task
            self._webhook_task = None
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> BotAPISimulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

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

    # --- faults -------------------------------------------------------------------------

    def fail_next(self, method: str, error_code: int, description: str, *, times: int = 1,
                  retry_after: int | None = None, chat_id: int | None = None) -> None:
        """Make the next ``times`` calls of ``method`` (to ``chat_id`` if given) fail so."""
        self._faults.append(_Fault(method, error_code, description, times, retry_after, chat_id))

    def delay_next(
        self, method: str, *, seconds: float, times: int = 1, delivered: bool = False
    ) -> None:
        """Hold the next ``times`` calls of ``method`` for ``seconds`` before answering; with
        ``delivered`` the call takes effect at once (people see the message) and only its
        answer to the bot is late, as on a slow network."""
        self._delays.append([method.lower(), seconds, times, delivered])

    def in_flight(self) -> int:
        """How many held (delayed) calls are waiting to be answered right now."""
        return self._in_flight

    async def _maybe_delay(self, method: str, *, delivered: bool = False) -> None:
        for entry in self._delays:
            if entry[0] == method.lower() and entry[2] > 0 and entry[3] == delivered:
                entry[2] -= 1
                self._in_flight += 1
                self._bump()
                try:
                    await asyncio.sleep(entry[1])
                finally:
                    self._in_flight -= 1
                return

    def _take_fault(self, method: str, params: dict[str, Any]) -> _Fault | None:
        for fault in self._faults:
            if fault.method.lower() != method.lower() or fault.times <= 0:
                continue
            if fault.chat_id is not None and params.get("chat_id") != fault.chat_id:
                continue
            fault.times -= 1
            if fault.times <= 0:
                self._faults.remove(fault)
            return fault
        return None

    # --- change notification ------------------------------------------------------------

    def _bump(self) -> int:
        self._seq += 1
        self._notify()
        return self._seq

    def _notify(self) -> None:
        if self._event is not None:
            self._event.set()
            self._event = None

    async def _wait_change(self, timeout: float) -> None:
        if self._event is None:
            self._event = asyncio.Event()
        event = self._event
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(max(timeout, 0)):
                await event.wait()

    def _check(self, type_name: str, obj: Any) -> None:
        if not self.self_check:
            return
        problems = object_problems(type_name, obj)
        if problems:
            text = f"{type_name}: " + "; ".join(problems[:5])
            log.error("simulator produced an object outside the spec: %s", text)
            self.spec_violations.append(text)

    # --- HTTP ---------------------------------------------------------------------------

    @staticmethod
    def _reply(result: Any) -> web.Response:
        return web.json_response({"ok": True, "result": result}, dumps=_dumps)

    @staticmethod
    def _error(code: int, description: str, retry_after: int | None = None,
               parameters: dict[str, Any] | None = None) -> web.Response:
        body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
        if retry_after is not None:
            body["parameters"] = {"retry_after": retry_after}
        if parameters:
            body["parameters"] = {**body.get("parameters", {}), **parameters}
        return web.json_response(body, status=code)

    async def _read_params(self, request: web.Request) -> dict[str, Any]:
        raw: dict[str, Any] = dict(request.query)
        if request.method != "POST":
            return raw
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except ValueError:
                raise BadRequest("Bad Request: can't parse JSON object") from None
            if not isinstance(body, dict):
                raise BadRequest("Bad Request: can't parse JSON object")
            raw.update(body)
            return raw
        form = await request.post()
        for key, value in form.items():
            if isinstance(value, web.FileField):
                # A non-ASCII name may arrive RFC 5987-encoded (filename*=utf-8''…).
                name = unquote(value.filename or "")
                raw[key] = UploadedFile(name, value.content_type, value.file.read())
            else:
                raw[key] = value
        return raw

    async def _handle(self, request: web.Request) -> web.Response:
        response = await self._handle_call(request)
        if self._closing:
            response.force_close()
        return response

    async def _handle_call(self, request: web.Request) -> web.Response:
        if self._closing:
            return self._error(502, "Bad Gateway")
        if request.match_info["token"] != self.token:
            return self._error(401, "Unauthorized")
        name = self._methods_by_lower.get(request.match_info["method"].lower())
        try:
            raw = await self._read_params(request)
        except BadRequest as exc:
            return self._error(exc.error_code, exc.description)
        if name is None:
            self.calls.append((request.match_info["method"], raw))
            return self._error(400, "Bad Request: method not found")
        try:
            params = decode_params(name, raw)
        except BadRequest as exc:
            self.calls.append((name, raw))
            return self._error(exc.error_code, exc.description)
        self.calls.append((name, {**{k: v for k, v in raw.items() if k not in params}, **params}))
        self._bump()
        await self._maybe_delay(name)
        fault = self._take_fault(name, params)
        if fault is not None:
            return self._error(fault.error_code, fault.description, fault.retry_after)
        try:
            result = await self._dispatch(name, params)
        except BadRequest as exc:
            if exc.error_code == 429:
                return self._error(429, exc.description, int(exc.description.rsplit(" ", 1)[1]))
            return self._error(exc.error_code, exc.description, parameters=exc.parameters)
        if name != "getUpdates":
            self._check_result(name, result)
        await self._maybe_delay(name, delivered=True)
        return self._reply(result)

    def _check_result(self, method: str, result: Any) -> None:
        if not self.self_check:
            return
        attempts = [object_problems(t, result) for t in method_returns(method)]
        if all(attempts):
            text = f"{method} result: " + "; ".join(min(attempts, key=len)[:5])
            log.error("simulator produced an object outside the spec: %s", text)
            self.spec_violations.append(text)

    async def _dispatch(self, name: str, params: dict[str, Any]) -> Any:
        if name == "getUpdates":
            return await self._get_updates(params)
        if name == "setWebhook":
            return self._set_webhook(params)
        if name == "deleteWebhook":
            self._webhook = None
            if params.get("drop_pending_updates"):
                self._updates.clear()
            self._notify()
            return True
        if name == "getWebhookInfo":
            return self._webhook_info()
        impl = self.methods.handler(name)
        if impl is None:
            raise BadRequest("Bad Request: method not found")
        return impl(params)

    async def _download(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return self._error(401, "Unauthorized")
        path = request.match_info["path"]
        for record in self.world.files.values():
            if record.file_path == path:
                return web.Response(body=record.data, content_type="image/jpeg")
        return self._error(404, "Not Found")

    def _check_limits(self, method: str, state: ChatState) -> None:
        """Refuse a send that a valid request would make, when it exceeds the flood limits."""
        if self.limits is None:
            return
        retry_after = self.limits.check(state.chat["id"], state.is_private, self.clock())
        if retry_after is not None:
            self.limit_hits.append((method, state.chat["id"], retry_after))
            raise BadRequest(f"Too Many Requests: retry after {retry_after}", 429)

    # --- updates: long polling ------------------------------------------------------------

    def _allowed(self, update: dict[str, Any]) -> bool:
        kinds = [k for k in update if k != "update_id"]
        if not kinds:
            return True
        if self._allowed_updates:
            return kinds[0] in self._allowed_updates
        return kinds[0] not in DEFAULT_EXCLUDED_UPDATES

    def _confirm(self, offset: int | None) -> None:
        if offset is None:
            return
        if offset < 0:
            keep = -offset
            self._updates = self._updates[-keep:] if keep else []
        else:
            self._updates = [
                u for u in self._updates
                if u.update.get("update_id", 0) >= offset or (u.forced and not u.delivered)
            ]

    def _ready(self, limit: int) -> list[_Pending]:
        self._updates = [u for u in self._updates if self._allowed(u.update)]
        return self._updates[:limit]

    async def _get_updates(self, p: dict[str, Any]) -> list[dict[str, Any]]:
        if self._webhook is not None:
            raise BadRequest(CONFLICT_WEBHOOK, 409)
        self._poll_generation += 1
        generation = self._poll_generation
        self._notify()  # an older long poll, if any, ends with 409
        if "allowed_updates" in p:
            self._allowed_updates = list(p["allowed_updates"])
        self._confirm(p.get("offset"))
        limit = min(max(int(p.get("limit", 100)), 1), 100)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(int(p.get("timeout", 0)), 0)
        while True:
            if generation != self._poll_generation:
                raise BadRequest(CONFLICT_POLL, 409)
            if self._webhook is not None:
                raise BadRequest(CONFLICT_WEBHOOK, 409)
            ready = self._ready(limit)
            if ready or self._closing or loop.time() >= deadline:
                for pending in ready:
                    pending.delivered = True
                return [copy.deepcopy(u.update) for u in ready]
            await self._wait_change(deadline - loop.time())

    # --- updates: webhook -------------------------------------------------------------------

    def _set_webhook(self, p: dict[str, Any]) -> bool:
        url = p["url"]
        if not url:
            self._webhook = None
        else:
            if not url.startswith(("http://", "https://")):
                raise BadRequest("Bad Request: bad webhook: An HTTPS URL must be provided for "
                                 "webhook")
            secret = p.get("secret_token")
            if secret is not None and (
                not 1 <= len(secret) <= 256
                or not all(c.isascii() and (c.isalnum() or c in "_-") for c in secret)
            ):
                raise BadRequest("Bad Request: secret token contains unallowed characters")
            self._webhook = _Webhook(url, secret, int(p.get("max_connections", 40)))
        if "allowed_updates" in p:
            self._allowed_updates = list(p["allowed_updates"])
        if p.get("drop_pending_updates"):
            self._updates.clear()
        self._notify()
        return True

    def _webhook_info(self) -> dict[str, Any]:
        hook = self._webhook
        info: dict[str, Any] = {
            "url": hook.url if hook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if hook is not None:
            info["max_connections"] = hook.max_connections
            if hook.last_error_date is not None:
                info["last_error_date"] = hook.last_error_date
                info["last_error_message"] = hook.last_error_message or ""
            if self._allowed_updates:
                info["allowed_updates"] = list(self._allowed_updates)
        return info

    @property
    def webhook_url(self) -> str | None:
        """The webhook URL the bot set, or None in polling mode."""
        return self._webhook.url if self._webhook else None

    async def _webhook_loop(self) -> None:
        """POST pending updates, one at a time and in order, to the webhook while one is set."""
        backoff = 0.1
        while not self._closing:
            hook = self._webhook
            ready = self._ready(1) if hook is not None else []
            if hook is None or not ready or self._session is None:
                await self._wait_change(1.0)
                continue
            pending = ready[0]
            update = pending.update
            headers = {SECRET_HEADER: hook.secret_token} if hook.secret_token else {}
            try:
                async with self._session.post(hook.url, json=update, headers=headers) as resp:
                    ok = 200 <= resp.status < 300
                    error = f"Wrong response from the webhook: {resp.status} {resp.reason}"
            except (TimeoutError, OSError) as exc:
                ok, error = False, f"Connection failed: {exc.__class__.__name__}"
            if ok:
                backoff = 0.1
                self._updates = [u for u in self._updates if u is not pending]
                self._bump()
                continue
            hook.last_error_date = self.world.now()
            hook.last_error_message = error
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 2.0)


def _dumps(value: Any) -> str:
    """JSON as Telegram sends it: UTF-8, with lone surrogates (a user may type them) escaped."""
    text = json.dumps(value, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(value)
    return text


__all__ = ["BotAPISimulator", "validate_object"]
