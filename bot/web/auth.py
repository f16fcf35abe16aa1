"""Console sign-in on the web side: the signed session cookie and the middleware that checks it."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Middleware

from bot.services.context import Services
from bot.services.statistics import access

COOKIE = "huiyin_console"
OPEN_PATHS = ("/login/", "/static/", "/healthz", "/readyz", "/metrics", "/webhook")

SCOPE = web.RequestKey("console_scope", access.Scope)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def derive_secret(configured: str | None, bot_token: str) -> bytes:
    """The key that signs session cookies: the configured one, else one derived from the token."""
    if configured:
        return configured.encode()
    return hmac.new(bot_token.encode(), b"huiyin-console-cookie", hashlib.sha256).digest()


def sign(secret: bytes, session_id: str) -> str:
    """The cookie value for a session id: the id and its HMAC."""
    mac = hmac.new(secret, session_id.encode(), hashlib.sha256).hexdigest()[:32]
    return f"{session_id}.{mac}"


def unsign(secret: bytes, value: str) -> str | None:
    """The session id of a cookie value, or None when the signature does not match."""
    session_id = value.rpartition(".")[0]
    if not session_id or not hmac.compare_digest(sign(secret, session_id), value):
        return None
    return session_id


def session_middleware(
    services: Services, secret: bytes, unauthorised: Callable[[web.Request], web.Response]
) -> Middleware:
    """Check the session cookie on every console page; answer 401 without a live session."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith(OPEN_PATHS):
            return await handler(request)
        session_id = unsign(secret, request.cookies.get(COOKIE, ""))
        scope = None if session_id is None else await access.session_scope(services, session_id)
        if scope is None:
            return unauthorised(request)
        request[SCOPE] = scope
        return await handler(request)

    return middleware
