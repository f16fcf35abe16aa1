"""The composition root: builds the Application, the services and the outbox sender."""

from __future__ import annotations

import asyncio
import logging
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import Bot, Update
from telegram.ext import Application, ApplicationBuilder, ContextTypes, TypeHandler
from telegram.warnings import PTBDeprecationWarning, PTBUserWarning

from bot.config import Settings
from bot.deadlines import DeadlinePolicy
from bot.delivery.pacing import Limits
from bot.delivery.sender import OutboxSender
from bot.departments import Directory
from bot.errors import NotMigrated, RulesFileError
from bot.indicators import Indicators
from bot.intake import handled
from bot.intake.chatter import GRIDS_CHANNEL, Chatter
from bot.intake.poller import Intake, Poller
from bot.intake.worker import INBOX_CHANNEL, Worker
from bot.menus import publish_chat_menus, publish_menus
from bot.metrics import COUNTERS
from bot.services.administration import people, personal_data
from bot.services.administration.chats import bound_chat_kinds, chat_kinds
from bot.services.context import Services
from bot.services.intake import group_prompts
from bot.services.supervision import calendar_notice
from bot.services.supervision.sweeper import LEASE_NAME, Sweeper
from bot.startup import explain
from bot.workdays import WorkCalendar
from handlers import admin, common, group, guard, lifecycle, rating, resident, staff
from handlers.context import HuiyinContext
from nlp import Extractor, RuleFileError
from storage.coordination.base import Coordinator
from storage.coordination.redis import RedisCoordinator, make_coordinator
from storage.db import is_up_to_date, make_engine, make_sessionmaker
from storage.leader import make_leader

log = logging.getLogger("huiyin")
T = TypeVar("T")




async def count_update(update: Update, context: HuiyinContext) -> None:
    """Count every update this instance handles (for /metrics)."""
    COUNTERS.inc("updates")


def describe_update(update: object) -> str:
    """Name an update for the log by id, kind and chat only: never its text or names."""
    if not isinstance(update, Update):
        return type(update).__name__
    kind = next(
        (k for k, v in update.to_dict().items() if k != "update_id" and v is not None), "?"
    )
    chat = update.effective_chat
    return f"update {update.update_id} ({kind}{f', chat {chat.id}' if chat else ''})"


async def on_error(update: object, context: HuiyinContext) -> None:
    """Hand a handler's error to the intake worker, which retries or dead-letters the update;
    otherwise log it with the update's id and kind (personal data stays out of logs)."""
    COUNTERS.inc("handler_errors")
    mark = handled.current.get()
    if mark is not None and context.error is not None:
        mark.error = context.error
        return
    log.error("error while handling %s", describe_update(update), exc_info=context.error)


@dataclass
class Runtime:
    """Everything one running bot holds."""

    application: Application[Any, Any, Any, Any, Any, Any]
    services: Services
    sender: OutboxSender
    engine: AsyncEngine
    intake: Intake
    worker: Worker
    poller: Poller | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    heartbeat: Path | None = None
    retention_days: int | None = None


PRUNE_EVERY = timedelta(days=1)


async def housekeeping(
    services: Services,
    sweeper: Sweeper | None = None,
    every: float = 30.0,
    heartbeat: Path | None = None,
    retention_days: int | None = None,
) -> None:
    """Periodic chores: expire group prompts, tell of a missing year's 调休, sweep if leading.

    After each pass that reached the database, `heartbeat` (if set) is touched: `huiyin check`
    reads its age to tell a container's health check that the bot is alive. Once a day (and
    at start) personal data past `retention_days` is de-identified.
    """
    pruned_at: datetime | None = None
    try:
        while True:
            now = services.clock()
            due = pruned_at is None or now - pruned_at >= PRUNE_EVERY
            if retention_days is not None and due:
                try:
                    done = await personal_data.prune(services, now, retention_days)
                    pruned_at = now
                    log.info("retention pass: %s", done)
                except Exception:
                    log.exception("retention pass failed")
            try:
                await group_prompts.expire_prompts(services)
                await calendar_notice.announce_missing_years(services)
                await people.refresh_admins(services)
                if heartbeat is not None:
                    await asyncio.to_thread(heartbeat.touch)
            except Exception:
                log.exception("housekeeping pass failed")
            if sweeper is not None:
                try:
                    await sweeper.tick()
                except Exception:
                    log.exception("sweeper pass failed")
            await asyncio.sleep(every)
    finally:
        if sweeper is not None:
            await asyncio.shield(sweeper.close())


WAKE_CHANNEL = "outbox"


def _waker(coordinator: Coordinator, sender: OutboxSender) -> Callable[[], None]:
    """Wake this instance's sender at once, and the other instances' through Redis."""
    pending: set[asyncio.Task[None]] = set()

    def wake() -> None:
        sender.wake()
        if isinstance(coordinator, RedisCoordinator):
            task = asyncio.get_running_loop().create_task(coordinator.publish(WAKE_CHANNEL, "1"))
            pending.add(task)
            task.add_done_callback(pending.discard)

    return wake


def load_extractor(settings: Settings) -> Extractor:
    """Load the complaint extractor with the deployment's extra rules (blocking: call off-loop)."""
    extra = [settings.nlp_rules_dir] if settings.nlp_rules_dir else []
    try:
        return Extractor.load(extra_dirs=extra, user_dict=settings.nlp_user_dict)
    except RuleFileError as exc:
        raise RulesFileError.of(exc) from exc


async def build_runtime(
    settings: Settings,
    *,
    token: str,
    extractor: Extractor | None = None,
    limits: Limits | None = None,
    lease_seconds: float = 60.0,
    check_schema: bool = True,
) -> Runtime:
    """Build the Application wired to the services and the sender (not yet started)."""
    # The outbox sends stored payloads through do_api_request on purpose.
    warnings.filterwarnings("ignore", message="Please use 'Bot", category=PTBUserWarning)
    warnings.filterwarnings("ignore", message=".*retry_after", category=PTBDeprecationWarning)
    # The operators' data files first: a bad one stops start-up before anything connects.
    calendar = WorkCalendar.load(settings.holidays_file)
    policy = DeadlinePolicy.load(settings.deadline_policy_file)
    directory = Directory.load(settings.departments_file)
    indicators = Indicators.load(settings.indicators_file)
    engine = make_engine(settings.database_url)
    try:
        unreachable = _unreachable_note(settings)
        if check_schema and not await when_reachable(lambda: is_up_to_date(engine), unreachable):
            raise NotMigrated(
                f"数据库尚未迁移到最新版本：请先运行 `huiyin db upgrade`（{_safe_url(settings)}）"
            )

        async def seed() -> frozenset[int]:
            async with make_sessionmaker(engine).begin() as session:
                await people.seed_admins(session, settings.admin_ids)
                return frozenset(await people.admin_ids(session))

        admins = await when_reachable(seed, unreachable)
        if extractor is None:
            extractor = await asyncio.to_thread(load_extractor, settings)
    except BaseException:
        await engine.dispose()
        raise
    sessions = make_sessionmaker(engine)
    services = Services(
        sessions=sessions,
        extractor=extractor,
        calendar=calendar,
        policy=policy,
        directory=directory,
        indicators=indicators,
        console_url=settings.console_root(),
        admin_ids=admins,
        group_confidence=settings.group_confidence,
        group_ask_confidence=min(settings.group_ask_confidence, settings.group_confidence),
        group_prompt_ttl_seconds=settings.group_prompt_minutes * 60,
        merge_window_seconds=settings.merge_hours * 3600,
        coordinator=make_coordinator(settings.redis_url, settings.redis_prefix),
        reports_per_hour=settings.reports_per_hour,
    )
    root = settings.telegram_api_url
    application = (
        ApplicationBuilder()
        .token(token)
        .base_url(f"{root}/bot")
        .base_file_url(f"{root}/file/bot")
        .context_types(ContextTypes(context=HuiyinContext))
        .updater(None)
        .build()
    )
    limits = limits or Limits(quiet_per_minute=settings.group_messages_per_minute)
    sender = OutboxSender(
        application.bot,
        sessions,
        limits=limits,
        coordinator=services.coordinator,
        lease_seconds=lease_seconds,
    )
    services.wake = _waker(services.coordinator, sender)
    services.chat_changed = _menu_refresher(services, application.bot)
    services.coordinator.subscribe(WAKE_CHANNEL, lambda _message: sender.wake())
    application.bot_data["services"] = services
    application.add_handler(TypeHandler(Update, count_update), group=-2)
    application.add_handlers(guard.HANDLERS, group=-1)
    for module in (common, lifecycle, admin, group, staff, resident, rating):
        application.add_handlers(module.HANDLERS)
    application.add_error_handler(on_error)
    chatter = Chatter(services)
    services.coordinator.subscribe(GRIDS_CHANNEL, chatter.invalidate)
    worker = Worker(application, sessions, services.coordinator, chatter)
    intake = Intake(sessions, chatter, worker, _inbox_waker(services.coordinator))
    return Runtime(
        application,
        services,
        sender,
        engine,
        intake,
        worker,
        heartbeat=settings.heartbeat_file,
        retention_days=settings.retention_days,
    )


def _menu_refresher(services: Services, bot: Bot) -> Callable[[int], None]:
    """Bring a chat's own command menu up to date in the background after its bindings
    changed (off the handler's path: Telegram's answers never hold an update up)."""
    pending: set[asyncio.Task[None]] = set()

    async def refresh(chat_id: int) -> None:
        try:
            await publish_chat_menus(bot, await chat_kinds(services, [chat_id]))
        except Exception:  # a menu is a convenience: log it, never fail the update for it
            log.exception("could not refresh the menu of chat %s", chat_id)

    def changed(chat_id: int) -> None:
        task = asyncio.get_running_loop().create_task(refresh(chat_id))
        pending.add(task)
        task.add_done_callback(pending.discard)

    return changed


def _inbox_waker(coordinator: Coordinator) -> Callable[[], None]:
    """Tell the other instances' workers (through Redis) that updates wait in the inbox."""
    pending: set[asyncio.Task[None]] = set()

    def wake() -> None:
        if isinstance(coordinator, RedisCoordinator):
            task = asyncio.get_running_loop().create_task(coordinator.publish(INBOX_CHANNEL, "1"))
            pending.add(task)
            task.add_done_callback(pending.discard)

    return wake


def _unreachable_note(settings: Settings) -> Callable[[BaseException], str]:
    return lambda exc: explain(exc, settings) or f"数据库暂时无法连接（{_safe_url(settings)}）"


def _is_unreachable(exc: BaseException) -> bool:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        if isinstance(current, OSError | OperationalError | InterfaceError):
            return True
        if isinstance(current, DBAPIError) and current.connection_invalidated:
            return True
        seen.append(current)
        current = current.__cause__ or current.__context__
    return False


async def when_reachable(
    step: Callable[[], Awaitable[T]],
    note: Callable[[BaseException], str] = lambda _exc: "数据库暂时无法连接",
) -> T:
    """Run a start-up step that reads the database, waiting (with backoff, loudly) while the
    database is unreachable: a bot (re)started during an outage starts when it returns, at
    whatever moment of the start-up the outage began."""
    backoff = 0.5
    while True:
        try:
            return await step()
        except Exception as exc:
            if not _is_unreachable(exc):
                raise
            log.error("%s；%.0f 秒后重试", note(exc), backoff)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 10.0)


def _safe_url(settings: Settings) -> str:
    url = settings.database_url
    if "@" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


async def start_runtime(runtime: Runtime, *, polling: bool = True) -> None:
    """Initialise and start the Application, polling if asked, and the sender."""
    app = runtime.application
    await runtime.services.coordinator.start()
    await app.initialize()
    runtime.services.bot_username = app.bot.username
    await publish_menus(app.bot)
    await publish_chat_menus(
        app.bot, await when_reachable(lambda: bound_chat_kinds(runtime.services))
    )
    await app.start()
    await when_reachable(runtime.intake.chatter.refresh)
    runtime.worker.start()
    if polling:
        await app.bot.delete_webhook(drop_pending_updates=False)
        runtime.poller = Poller(app.bot, runtime.intake)
        runtime.poller.start()
    runtime.sender.start()
    leader = make_leader(runtime.engine, runtime.services.coordinator, LEASE_NAME)
    sweeper = Sweeper(runtime.services, leader)
    runtime.tasks.append(
        asyncio.create_task(
            housekeeping(
                runtime.services,
                sweeper,
                heartbeat=runtime.heartbeat,
                retention_days=runtime.retention_days,
            ),
            name="huiyin-chores",
        )
    )


async def stop_runtime(runtime: Runtime) -> None:
    """Stop polling, the Application and the sender, and close the database."""
    app = runtime.application
    if runtime.poller is not None:
        await runtime.poller.stop()
        runtime.poller = None
    await runtime.worker.stop()
    if app.running:
        await app.stop()
    await runtime.sender.stop()
    for task in runtime.tasks:
        task.cancel()
    await asyncio.gather(*runtime.tasks, return_exceptions=True)
    runtime.tasks.clear()
    await app.shutdown()
    await runtime.services.coordinator.close()
    await runtime.engine.dispose()
