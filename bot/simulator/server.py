"""The local Bot API server (aiohttp) and its Python control API, :class:`BotAPISimulator`."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from aiohttp import ClientSession, ClientTimeout, web

from .acting import Acting
from .faults import Faults
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
from .updates import UpdateDelivery
from .world import ChatState, World

log = logging.getLogger(__name__)

class BotAPISimulator(Acting, Faults, UpdateDelivery):
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
        self._updates = []
        self._next_update_id = 1
        self._allowed_updates: list[str] = []
        self._webhook = None
        self._faults = []
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

def _dumps(value: Any) -> str:
    """JSON as Telegram sends it: UTF-8, with lone surrogates (a user may type them) escaped."""
    text = json.dumps(value, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(value)
    return text


__all__ = ["BotAPISimulator", "validate_object"]
