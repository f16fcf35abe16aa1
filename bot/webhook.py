"""Webhook mode: an aiohttp endpoint that checks Telegram's secret header and stores updates.

An update is answered 200 only after it is stored: a request Telegram sends while the database
is unreachable gets 503, and Telegram sends it again later.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Callable
from typing import Any

from aiohttp import web
from telegram import Update
from telegram.ext import Application

from bot.intake.poller import Intake
from bot.intake.raw import NotAnUpdate, check

log = logging.getLogger("huiyin.webhook")

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_BODY = 1 << 20


def webhook_app(intake: Intake, secret: str) -> web.Application:
    """Return an aiohttp app whose POST /webhook stores each update before answering 200."""

    async def receive(request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), secret.encode()):
            return web.Response(status=401, text="unauthorized")
        try:
            update = check(json.loads(await request.read()))
        except (ValueError, NotAnUpdate, UnicodeDecodeError):
            return web.Response(status=400, text="bad update")
        try:
            await intake.store([update])
        except Exception as exc:
            log.error(
                "webhook: cannot store update %s (%s); answering 503", update["update_id"], exc
            )
            return web.Response(status=503, text="try again")
        return web.Response(text="ok")

    async def health(_request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application(client_max_size=MAX_BODY)
    app.router.add_post("/webhook", receive)
    app.router.add_get("/healthz", health)
    return app


async def serve_webhook(
    application: Application[Any, Any, Any, Any, Any, Any],
    intake: Intake,
    *,
    host: str,
    port: int,
    secret: str,
    public_url: str | None,
    mount: Callable[[web.Application], None] | None = None,
) -> web.TCPSite:
    """Serve the webhook endpoint and, when a public URL is given, register it with Telegram.

    `mount` adds more routes (the web console) to the same server before it starts."""
    app = webhook_app(intake, secret)
    if mount is not None:
        mount(app)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    if public_url:
        await application.bot.set_webhook(
            url=public_url, secret_token=secret, allowed_updates=Update.ALL_TYPES
        )
    return site
