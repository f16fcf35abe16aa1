"""`huiyin check`, the container's health check: heartbeat in polling mode, /readyz in webhook."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
import time
from dataclasses import replace
from pathlib import Path

from aiohttp import ClientError, ClientSession, web

from bot.app import housekeeping
from bot.simulator import BotAPISimulator
from storage.db import make_engine, make_sessionmaker
from tests.harness import LocalStack
from tests.integration.test_startup_failures import ROOT, TOKEN, huiyin, migrated_sqlite, one_line


async def test_polling_without_ops_server_reads_the_heartbeat(tmp_path: Path) -> None:
    beat = tmp_path / "heartbeat"
    env = {"HUIYIN_HEARTBEAT_FILE": str(beat), "HUIYIN_OPS_LISTEN": "off"}
    code, output = await huiyin("check", env=env)
    assert code == 1 and "不存在" in output
    beat.touch()
    code, output = await huiyin("check", env=env)
    assert code == 0 and "正常" in output
    old = time.time() - 600
    os.utime(beat, (old, old))
    code, output = await huiyin("check", env=env)
    assert code == 1 and "没有心跳" in output


async def test_housekeeping_touches_the_heartbeat_while_the_database_answers(
    sqlite_url: str, tmp_path: Path
) -> None:
    beat = tmp_path / "heartbeat"
    async with LocalStack(database_url=sqlite_url, migrate=False) as stack:
        assert stack.runtime is not None
        task = asyncio.create_task(
            housekeeping(stack.runtime.services, None, every=0.05, heartbeat=beat)
        )
        try:
            for _ in range(250):
                if beat.exists():
                    break
                await asyncio.sleep(0.02)
            assert beat.exists()
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        beat.unlink()
        broken = make_engine("sqlite+aiosqlite:////no/such/folder/huiyin.db")
        services = replace(stack.runtime.services, sessions=make_sessionmaker(broken))
        task = asyncio.create_task(housekeeping(services, None, every=0.05, heartbeat=beat))
        await asyncio.sleep(0.3)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await broken.dispose()
        assert not beat.exists(), "no heartbeat while the database does not answer"


async def test_webhook_mode_asks_readyz(tmp_path: Path) -> None:
    status = {"code": 503}

    async def readyz(_request: web.Request) -> web.Response:
        return web.Response(status=status["code"], text="x")

    app = web.Application()
    app.router.add_get("/readyz", readyz)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    env = {
        "HUIYIN_WEBHOOK_URL": "https://bot.example.org/webhook",
        "HUIYIN_WEBHOOK_LISTEN": f"127.0.0.1:{port}",
    }
    try:
        code, output = await huiyin("check", env=env)
        assert code == 1 and "503" in output
        status["code"] = 200
        code, output = await huiyin("check", env=env)
        assert code == 0 and "/readyz" in output
    finally:
        await runner.cleanup()
    code, output = await huiyin("check", env=env)
    assert code == 1 and "无法连接" in output


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_polling_run_serves_healthz_readyz_and_metrics(tmp_path: Path) -> None:
    """`huiyin run` (polling) answers /healthz, /readyz and /metrics on HUIYIN_OPS_LISTEN, and
    `huiyin check` (the image's HEALTHCHECK) asks its /readyz."""
    port = _free_port()
    async with BotAPISimulator(token=TOKEN) as sim:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("HUIYIN_", "TELEGRAM_"))}
        env |= {
            "HUIYIN_DATABASE_URL": await migrated_sqlite(tmp_path),
            "HUIYIN_TELEGRAM_API_URL": sim.root_url,
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "HUIYIN_OPS_LISTEN": f"127.0.0.1:{port}",
        }
        bot = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "run", cwd=ROOT, env=env,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        try:
            async with ClientSession() as http:
                body: dict[str, object] = {}
                for _ in range(600):
                    try:
                        async with http.get(f"http://127.0.0.1:{port}/readyz") as resp:
                            if resp.status == 200:
                                body = json.loads(await resp.text())
                                break
                    except ClientError:
                        pass
                    assert bot.returncode is None, "the bot stopped"
                    await asyncio.sleep(0.1)
                assert body.get("ready") is True and body.get("database") == "ok", body
                async with http.get(f"http://127.0.0.1:{port}/healthz") as resp:
                    assert resp.status == 200 and await resp.text() == "ok"
                async with http.get(f"http://127.0.0.1:{port}/metrics") as resp:
                    assert resp.status == 200
                    assert "huiyin_outbox_messages" in await resp.text()
            check = {"HUIYIN_OPS_LISTEN": f"127.0.0.1:{port}"}
            code, output = await huiyin("check", env=check)
            assert code == 0 and "正常（/readyz）" in output, output
        finally:
            bot.send_signal(signal.SIGTERM)
            async with asyncio.timeout(60):
                _, err = await bot.communicate()
        assert bot.returncode == 0, err.decode()
        code, output = await huiyin("check", env=check)
        assert code == 1 and "无法连接" in output


async def test_ops_port_taken_is_one_clear_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        async with BotAPISimulator(token=TOKEN) as sim:
            env = {
                "HUIYIN_DATABASE_URL": await migrated_sqlite(tmp_path),
                "HUIYIN_TELEGRAM_API_URL": sim.root_url,
                "TELEGRAM_BOT_TOKEN": TOKEN,
                "HUIYIN_OPS_LISTEN": f"127.0.0.1:{port}",
            }
            code, output = await huiyin("run", env=env)
    assert code == 2
    line = one_line(output)
    assert "HUIYIN_OPS_LISTEN" in line and f"127.0.0.1:{port}" in line and "端口已被占用" in line
