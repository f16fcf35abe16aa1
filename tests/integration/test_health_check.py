"""`huiyin check`, the container's health check: heartbeat in polling mode, /readyz in webhook."""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import replace
from pathlib import Path

from aiohttp import web

from bot.app import housekeeping
from storage.db import make_engine, make_sessionmaker
from tests.harness import LocalStack
from tests.integration.test_startup_failures import huiyin


async def test_polling_mode_reads_the_heartbeat(tmp_path: Path) -> None:
    beat = tmp_path / "heartbeat"
    env = {"HUIYIN_HEARTBEAT_FILE": str(beat)}
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
