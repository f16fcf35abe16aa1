"""The `huiyin` command: run, webhook, db upgrade, staff add, demo and nlp."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Sequence

from bot.config import Settings, SettingsError, load_settings
from bot.errors import StartupError

log = logging.getLogger("huiyin")


def _configure_logging(level: str, *, migrations: bool = False) -> None:
    logging.basicConfig(
        level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    noisy = ["httpx", "httpcore", "telegram.ext.Updater", "aiohttp.access"]
    noisy.append("alembic.runtime.plugins")
    if not migrations:
        noisy.append("alembic")  # it reads the schema version at every start: not news
    for name in noisy:
        logging.getLogger(name).setLevel(logging.WARNING)
    keep_personal_data_out_of_logs()
    import jieba

    jieba.setLogLevel(logging.WARNING)


def keep_personal_data_out_of_logs() -> None:
    """Even at DEBUG, libraries that log whole updates or SQL parameters (residents' words and
    names) log at INFO at most."""
    floors = {"telegram": logging.INFO, "aiosqlite": logging.INFO, "asyncpg": logging.INFO,
              "httpcore": logging.INFO, "sqlalchemy.engine": logging.WARNING}  # fmt: skip
    for name, floor in floors.items():
        logger = logging.getLogger(name)
        logger.setLevel(max(floor, logger.getEffectiveLevel()))


async def _wait_for_signal() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()


async def _run_polling(settings: Settings, *, poll: bool = True) -> int:
    from bot.app import build_runtime, start_runtime, stop_runtime

    runtime = await build_runtime(settings, token=settings.require_token())
    ops = None
    if settings.ops_listen != "off":
        from bot.web.ops import serve_ops

        # Bound before the bot starts: a taken port is one line, not a started-then-stopped bot.
        ops = await serve_ops(runtime.services, settings.ops_listen)
    try:
        await start_runtime(runtime, polling=poll)
    except BaseException:
        if ops is not None:
            await ops.cleanup()
        raise
    if poll:
        log.info("huiyin 已启动（长轮询），按 Ctrl+C 停止")
    else:
        log.info("huiyin 已启动（只处理已收到的消息，不轮询），按 Ctrl+C 停止")
    try:
        await _wait_for_signal()
    finally:
        await stop_runtime(runtime)
        if ops is not None:
            await ops.cleanup()
    return 0


async def _run_webhook(settings: Settings) -> int:
    from bot.app import build_runtime, start_runtime, stop_runtime
    from bot.web.serve import mount_console
    from bot.webhook import serve_webhook

    if not settings.webhook_url or not settings.webhook_secret:
        raise SettingsError("webhook 模式需要设置 HUIYIN_WEBHOOK_URL 和 HUIYIN_WEBHOOK_SECRET")
    runtime = await build_runtime(settings, token=settings.require_token())
    await start_runtime(runtime, polling=False)
    host, _, port = settings.webhook_listen.rpartition(":")
    site = await serve_webhook(
        runtime.application,
        runtime.intake,
        host=host,
        port=int(port),
        secret=settings.webhook_secret,
        public_url=settings.webhook_url,
        mount=lambda app: mount_console(app, runtime.services, settings),
    )
    log.info("huiyin 已启动（webhook %s，监听 %s）", settings.webhook_url, settings.webhook_listen)
    try:
        await _wait_for_signal()
    finally:
        await site.stop()
        await stop_runtime(runtime)
    return 0


async def _run_web(settings: Settings) -> int:
    from bot.web.serve import serve_console

    stop = asyncio.Event()
    waiter = asyncio.create_task(_wait_for_signal())
    waiter.add_done_callback(lambda _task: stop.set())
    return await serve_console(settings, stop)


HEARTBEAT_MAX_AGE = 120.0  # seconds: four missed housekeeping passes


async def _check(settings: Settings) -> int:
    """Health check for a container: GET /readyz of the bot's own server (the webhook listener,
    or in polling mode HUIYIN_OPS_LISTEN); the heartbeat file when polling serves none."""
    import time

    if settings.webhook_url or settings.ops_listen != "off":
        from aiohttp import ClientError, ClientSession, ClientTimeout

        listen = settings.webhook_listen if settings.webhook_url else settings.ops_listen
        port = listen.rpartition(":")[2]
        async with ClientSession(timeout=ClientTimeout(total=5)) as http:
            for path in ("/readyz", "/healthz"):  # /healthz: servers without the console
                try:
                    async with http.get(f"http://127.0.0.1:{port}{path}") as resp:
                        if resp.status == 404:
                            continue
                        if resp.status == 200:
                            print(f"正常（{path}）")
                            return 0
                        print(f"未就绪：{path} 返回 {resp.status}", file=sys.stderr)
                        return 1
                except (ClientError, OSError) as exc:
                    reason = type(exc).__name__
                    print(f"未就绪：无法连接 127.0.0.1:{port}（{reason}）", file=sys.stderr)
                    return 1
        print("未就绪：服务没有 /readyz 或 /healthz", file=sys.stderr)
        return 1
    beat = settings.heartbeat_file
    if beat is None:
        print(
            "无法检查：HUIYIN_OPS_LISTEN 为 off 时，请设置 HUIYIN_HEARTBEAT_FILE"
            "（机器人运行时定期更新它）",
            file=sys.stderr,
        )
        return 1
    try:
        age = time.time() - beat.stat().st_mtime
    except OSError:
        print(f"未就绪：{beat} 不存在（机器人尚未完成启动，或未运行）", file=sys.stderr)
        return 1
    if age > HEARTBEAT_MAX_AGE:
        print(f"异常：{int(age)} 秒没有心跳（数据库不可用或进程卡住），见日志", file=sys.stderr)
        return 1
    print(f"正常（{int(age)} 秒前心跳）")
    return 0


async def _db_upgrade(settings: Settings) -> int:
    from storage.db import upgrade

    await upgrade(settings.database_url)
    print("数据库已迁移到最新版本。")
    return 0


async def _staff_add(settings: Settings, user_id: int, name: str, department: str) -> int:
    from bot.departments import Directory
    from bot.services.administration.staff import register_staff
    from bot.services.context import Person
    from storage.db import is_up_to_date, make_engine, make_sessionmaker

    code = ""
    if department:
        found = Directory.load(settings.departments_file).find(department)
        if found is None:
            print(f"未找到部门「{department}」", file=sys.stderr)
            return 2
        code = found.code
    engine = make_engine(settings.database_url)
    try:
        if not await is_up_to_date(engine):
            print("数据库尚未迁移：请先运行 huiyin db upgrade", file=sys.stderr)
            return 2
        async with make_sessionmaker(engine).begin() as session:
            person = Person(id=user_id, first_name=name)
            await register_staff(session, person, added_by=None, department=code)
    finally:
        await engine.dispose()
    print(f"已登记工作人员 {name or user_id}（{user_id}）。")
    return 0


async def _worker_add(settings: Settings, grid_chat_id: int, user_id: int, name: str) -> int:
    from bot.services.administration.grids import register_worker
    from bot.services.context import Person
    from bot.services.intake.groups import grid_of
    from storage.db import is_up_to_date, make_engine, make_sessionmaker
    from storage.models import utcnow

    engine = make_engine(settings.database_url)
    try:
        if not await is_up_to_date(engine):
            print("数据库尚未迁移：请先运行 huiyin db upgrade", file=sys.stderr)
            return 2
        async with make_sessionmaker(engine).begin() as session:
            grid = await grid_of(session, grid_chat_id)
            if grid is None:
                print(
                    f"群 {grid_chat_id} 还不是网格群：管理员请先在群内发送 /bind_grid 网格名称",
                    file=sys.stderr,
                )
                return 2
            person = Person(id=user_id, first_name=name)
            await register_worker(session, grid, person, added_by=None, at=utcnow())
            grid_name = grid.name
    finally:
        await engine.dispose()
    print(f"已将 {name or user_id}（{user_id}）登记为「{grid_name}」网格员。")
    return 0


async def _inbox(settings: Settings, command: str, ids: list[int], every: bool) -> int:
    from storage import inbox
    from storage.db import is_up_to_date, make_engine, make_sessionmaker
    from storage.models import utcnow

    engine = make_engine(settings.database_url)
    try:
        if not await is_up_to_date(engine):
            print("数据库尚未迁移：请先运行 huiyin db upgrade", file=sys.stderr)
            return 2
        sessions = make_sessionmaker(engine)
        if command == "failed":
            async with sessions() as session:
                rows = await inbox.failed(session, limit=1000)
            if not rows:
                print("没有处理失败的消息。")
            for row in rows:
                error = " ".join(row.last_error.split())[:200]
                print(
                    f"{row.id}\tupdate {row.update_id}\tchat {row.chat_key}\t{row.kind}\t"
                    f"{row.attempts} 次\t{row.received_at:%Y-%m-%d %H:%M:%S}Z\t{error}"
                )
            return 0
        if not ids and not every:
            print("用法：huiyin inbox retry ID … 或 huiyin inbox retry --all", file=sys.stderr)
            return 2
        async with sessions.begin() as session:
            count = await inbox.retry(session, utcnow(), None if every else ids)
        print(f"已重新排队 {count} 条消息，运行中的机器人会再处理一次。")
        return 0
    finally:
        await engine.dispose()


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser of the `huiyin` command."""
    parser = argparse.ArgumentParser(prog="huiyin", description="回音：接诉即办 Telegram 机器人")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="长轮询运行机器人")
    run.add_argument(
        "--no-poll",
        action="store_true",
        help="不轮询：只处理其他实例已收到并存入数据库的消息（多实例时一个轮询、其余处理）",
    )
    sub.add_parser("webhook", help="以 webhook 方式运行（aiohttp），同一端口提供网页控制台")
    sub.add_parser("web", help="单独运行网页控制台（HUIYIN_WEB_LISTEN）")
    sub.add_parser(
        "check",
        help="健康检查：访问机器人的 /readyz（webhook 端口或 HUIYIN_OPS_LISTEN），"
        "HUIYIN_OPS_LISTEN=off 时读取心跳文件",
    )
    db = sub.add_parser("db", help="数据库")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="迁移数据库到最新版本")
    staff = sub.add_parser("staff", help="工作人员")
    staff_sub = staff.add_subparsers(dest="staff_command", required=True)
    add = staff_sub.add_parser("add", help="登记工作人员")
    add.add_argument("user_id", type=int, help="Telegram 用户 ID")
    add.add_argument("--name", default="", help="显示名")
    add.add_argument("--department", default="", help="所在部门（名称或代码；默认总平台）")
    worker = sub.add_parser("worker", help="网格员")
    worker_sub = worker.add_subparsers(dest="worker_command", required=True)
    wadd = worker_sub.add_parser("add", help="登记网格员")
    wadd.add_argument("grid_chat_id", type=int, help="网格群的 chat id（负数）")
    wadd.add_argument("user_id", type=int, help="Telegram 用户 ID")
    wadd.add_argument("--name", default="", help="显示名")
    from bot.people_cli import register as register_people

    register_people(sub, staff_sub, worker_sub)
    box = sub.add_parser("inbox", help="收到的消息（处理失败的可重试）")
    box_sub = box.add_subparsers(dest="inbox_command", required=True)
    box_sub.add_parser("failed", help="列出处理失败（已放弃重试）的消息")
    retry = box_sub.add_parser("retry", help="把处理失败的消息重新排队")
    retry.add_argument("ids", type=int, nargs="*", help="消息编号（huiyin inbox failed 第一列）")
    retry.add_argument("--all", action="store_true", help="全部重试")
    demo = sub.add_parser("demo", help="在本地模拟器上演示完整流程（无需 token 和网络）")
    demo.add_argument("--interactive", action="store_true", help="在终端中扮演居民")
    from bot import corrections_cli
    from nlp.cli import register

    register(sub)
    corrections_cli.register(corrections_cli.nlp_commands(parser))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the `huiyin` command."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:2] == ["nlp", "suggest"] and "--from-db" in argv:
        from bot.corrections_cli import suggest_from_db

        return suggest_from_db(argv, main)
    args = build_parser().parse_args(argv)
    if args.command == "nlp":
        return int(args.func(args))
    settings: Settings | None = None
    try:
        settings = load_settings()
        _configure_logging(
            settings.log_level if args.command != "demo" else "WARNING",
            migrations=args.command == "db",
        )
        if args.command == "demo":
            from bot.demo import run_demo

            # The scripted days may run past the last year with holiday data; the operator's
            # warning about it means nothing to someone watching the demo.
            logging.getLogger("huiyin.workdays").setLevel(logging.ERROR)

            return asyncio.run(run_demo(interactive=args.interactive))
        if args.command not in ("check", "demo"):
            from bot.startup import sqlite_folder_problem

            problem = sqlite_folder_problem(settings)
            if problem is not None:
                print(f"启动失败：{problem}", file=sys.stderr)
                return 2
        if args.command == "run":
            return asyncio.run(_run_polling(settings, poll=not args.no_poll))
        if args.command == "webhook":
            return asyncio.run(_run_webhook(settings))
        if args.command == "web":
            return asyncio.run(_run_web(settings))


        if args.command == "check":
            return asyncio.run(_check(settings))
        if args.command == "db":
            return asyncio.run(_db_upgrade(settings))
        if getattr(args, "people", None) is not None:
            from bot import people_cli

            return asyncio.run(people_cli.run(settings, args))
        if args.command == "staff":
            return asyncio.run(_staff_add(settings, args.user_id, args.name, args.department))
        if args.command == "inbox":
            return asyncio.run(
                _inbox(
                    settings,
                    args.inbox_command,
                    getattr(args, "ids", []),
                    getattr(args, "all", False),
                )
            )
        if args.command == "worker":
            return asyncio.run(_worker_add(settings, args.grid_chat_id, args.user_id, args.name))
    except StartupError as exc:
        print(f"启动失败：{exc}", file=sys.stderr)
        return 2
    except Exception as exc:
        from bot.startup import explain

        reason = explain(exc, settings) if settings is not None else None
        if reason is None:
            raise
        print(f"启动失败：{reason}", file=sys.stderr)
        return 2
    return 1


if __name__ == "__main__":
    sys.exit(main())
