"""Operations endpoints on the same server: /healthz, /readyz and /metrics (Prometheus text)."""

from __future__ import annotations

import errno
import json
import secrets
from datetime import datetime

from aiohttp import web
from sqlalchemy import func, select, text

from bot.errors import SettingsError
from bot.metrics import COUNTERS
from bot.services.context import Services
from storage.coordination.memory import MemoryCoordinator
from storage.models import OutboxMessage, OutboxStatus, Ticket

OUTBOX_STALE_SECONDS = 600.0  # a message waiting this long means the sender is stuck
SWEEPER_LAG_SECONDS = 600.0  # a step due this long ago means nobody is sweeping


async def _outbox(services: Services, now: datetime) -> tuple[dict[OutboxStatus, int], float]:
    async with services.sessions() as session:
        rows = await session.execute(
            select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
        )
        counts = {r[0]: int(r[1]) for r in rows.all()}
        oldest = (
            await session.execute(
                select(func.min(OutboxMessage.created_at)).where(
                    OutboxMessage.status == OutboxStatus.PENDING
                )
            )
        ).scalar_one_or_none()
    age = 0.0 if oldest is None else max(0.0, (now - _aware(oldest, now)).total_seconds())
    return counts, age


def _aware(value: datetime, like: datetime) -> datetime:
    # func.min bypasses the column type on SQLite: the value comes back naive (it is UTC).
    return value if value.tzinfo is not None else value.replace(tzinfo=like.tzinfo)


async def _sweeper_lag(services: Services, now: datetime) -> float:
    async with services.sessions() as session:
        due = (
            await session.execute(
                select(func.min(Ticket.next_due_at)).where(Ticket.next_due_at <= now)
            )
        ).scalar_one_or_none()
    return 0.0 if due is None else max(0.0, (now - _aware(due, now)).total_seconds())


async def _redis(services: Services) -> str:
    if isinstance(services.coordinator, MemoryCoordinator):
        return "in-process"
    try:
        await services.coordinator.first_seen(f"readyz:{secrets.token_hex(8)}", 1.0)
    except Exception as exc:  # any failure to reach Redis means not ready
        return f"error: {type(exc).__name__}"
    return "ok"


def add_ops(app: web.Application, services: Services) -> None:
    """Add /readyz and /metrics (and /healthz unless the app already answers it)."""

    async def healthz(_request: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def readyz(_request: web.Request) -> web.Response:
        now = services.clock()
        checks: dict[str, object] = {}
        ready = True
        try:
            async with services.sessions() as session:
                await session.execute(text("SELECT 1"))
            checks["database"] = "ok"
            _, oldest = await _outbox(services, now)
            lag = await _sweeper_lag(services, now)
            checks["outbox_oldest_waiting_seconds"] = round(oldest, 1)
            checks["sweeper_lag_seconds"] = round(lag, 1)
            ready = oldest < OUTBOX_STALE_SECONDS and lag < SWEEPER_LAG_SECONDS
        except Exception as exc:  # the database is down or unusable
            checks["database"] = f"error: {type(exc).__name__}"
            ready = False
        checks["redis"] = await _redis(services)
        ready = ready and not str(checks["redis"]).startswith("error")
        last = COUNTERS.last_sweep_at
        checks["sweeper_last_pass_seconds"] = (
            None if last is None else round((now - last).total_seconds(), 1)
        )
        checks["ready"] = ready
        return web.Response(
            status=200 if ready else 503,
            text=json.dumps(checks, ensure_ascii=False),
            content_type="application/json",
        )

    async def metrics(_request: web.Request) -> web.Response:
        now = services.clock()
        async with services.sessions() as session:
            rows = await session.execute(
                select(Ticket.status, func.count()).group_by(Ticket.status)
            )
            tickets = {r[0]: int(r[1]) for r in rows.all()}
        outbox, oldest = await _outbox(services, now)
        lag = await _sweeper_lag(services, now)
        lines = [
            "# HELP huiyin_updates_total Telegram updates received by this instance.",
            "# TYPE huiyin_updates_total counter",
            f"huiyin_updates_total {COUNTERS.counts['updates']}",
            "# HELP huiyin_handler_errors_total Errors raised while handling updates.",
            "# TYPE huiyin_handler_errors_total counter",
            f"huiyin_handler_errors_total {COUNTERS.counts['handler_errors']}",
            "# HELP huiyin_telegram_429_total Telegram 429 (retry_after) answers to the sender.",
            "# TYPE huiyin_telegram_429_total counter",
            f"huiyin_telegram_429_total {COUNTERS.counts['telegram_429']}",
            "# HELP huiyin_tickets Tickets by status.",
            "# TYPE huiyin_tickets gauge",
            *[f'huiyin_tickets{{status="{s}"}} {n}' for s, n in sorted(tickets.items())],
            "# HELP huiyin_outbox_messages Outbox rows by status (pending = waiting to be sent).",
            "# TYPE huiyin_outbox_messages gauge",
            *[f'huiyin_outbox_messages{{status="{s}"}} {outbox.get(s, 0)}' for s in OutboxStatus],
            "# HELP huiyin_outbox_oldest_waiting_seconds Age of the oldest waiting outbox row.",
            "# TYPE huiyin_outbox_oldest_waiting_seconds gauge",
            f"huiyin_outbox_oldest_waiting_seconds {oldest:.1f}",
            "# HELP huiyin_sweeper_lag_seconds How long the oldest due sweeper step has waited.",
            "# TYPE huiyin_sweeper_lag_seconds gauge",
            f"huiyin_sweeper_lag_seconds {lag:.1f}",
        ]
        if COUNTERS.last_sweep_at is not None:
            age = (now - COUNTERS.last_sweep_at).total_seconds()
            lines += [
                "# HELP huiyin_sweeper_last_pass_seconds Since this instance's last sweeper pass.",
                "# TYPE huiyin_sweeper_last_pass_seconds gauge",
                f"huiyin_sweeper_last_pass_seconds {age:.1f}",
            ]
        return web.Response(
            text="\n".join(lines) + "\n", content_type="text/plain", charset="utf-8"
        )

    if not any(r.canonical == "/healthz" for r in app.router.resources()):
        app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)


async def serve_ops(services: Services, listen: str) -> web.AppRunner:
    """Serve /healthz, /readyz and /metrics on `listen` (host:port), for `huiyin run` in
    polling mode, which has no other server; return the runner to clean up."""
    app = web.Application()
    add_ops(app, services)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    host, _, port = listen.rpartition(":")
    try:
        await web.TCPSite(runner, host, int(port)).start()
    except OSError as exc:
        await runner.cleanup()
        why = {errno.EADDRINUSE: "端口已被占用", errno.EACCES: "没有权限使用该端口"}.get(
            exc.errno or 0, "地址不可用"
        )
        raise SettingsError(
            f"HUIYIN_OPS_LISTEN：无法在 {listen} 上提供健康检查（{why}）；请换一个端口，或设为 off"
        ) from exc
    return runner
