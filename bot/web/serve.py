"""`huiyin web`: the console on its own port, reading the same database as the bot."""

from __future__ import annotations

import asyncio
import logging
import secrets

from aiohttp import web

from bot.config import Settings
from bot.deadlines import DeadlinePolicy
from bot.departments import Directory
from bot.indicators import Indicators
from bot.services.context import Services
from bot.web.app import add_console
from bot.web.auth import derive_secret
from bot.web.ops import add_ops
from bot.workdays import WorkCalendar
from storage.db import is_up_to_date, make_engine, make_sessionmaker

log = logging.getLogger("huiyin.web")


def cookie_secret(settings: Settings) -> bytes:
    """The session-cookie key: configured, derived from the bot token, or random (one process)."""
    if settings.console_secret or settings.telegram_bot_token:
        return derive_secret(settings.console_secret, settings.telegram_bot_token)
    log.warning("HUIYIN_CONSOLE_SECRET 未设置：控制台会话在重启后失效")
    return secrets.token_bytes(32)


def mount_console(app: web.Application, services: Services, settings: Settings) -> None:
    """Add the console, /readyz and /metrics to an aiohttp application."""
    add_ops(app, services)
    add_console(
        app,
        services,
        secret=cookie_secret(settings),
        secure_cookies=settings.console_root().startswith("https://"),
    )


async def serve_console(settings: Settings, stop: asyncio.Event) -> int:
    """Serve the console on HUIYIN_WEB_LISTEN until `stop` is set."""
    from bot.app import NotMigrated, load_extractor

    engine = make_engine(settings.database_url)
    try:
        if not await is_up_to_date(engine):
            raise NotMigrated("数据库尚未迁移到最新版本：请先运行 `huiyin db upgrade`")
        services = Services(
            sessions=make_sessionmaker(engine),
            extractor=await asyncio.to_thread(load_extractor, settings),
            calendar=WorkCalendar.load(settings.holidays_file),
            policy=DeadlinePolicy.load(settings.deadline_policy_file),
            directory=Directory.load(settings.departments_file),
            indicators=Indicators.load(settings.indicators_file),
            admin_ids=settings.admin_ids,
            console_url=settings.console_root(),
        )
        app = web.Application()
        mount_console(app, services, settings)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        host, _, port = settings.web_listen.rpartition(":")
        site = web.TCPSite(runner, host, int(port))
        await site.start()
        log.info("回音控制台已启动：%s（监听 %s）", settings.console_root(), settings.web_listen)
        await stop.wait()
        await runner.cleanup()
    finally:
        await engine.dispose()
    return 0
