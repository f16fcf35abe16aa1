"""The production image, built and run, where a Docker engine is at hand.

Builds the Dockerfile, migrates a fresh data volume with the one-off `huiyin db upgrade`, runs
the bot's default command against the local Bot API simulator and checks what an operator
relies on: a resident is answered, the bot is PID 1, the health check turns healthy, and
`docker stop` ends it cleanly well inside Docker's grace period.

Docker is not one of the services CI must have, so without an engine (or without the base
images, locally or from a registry) the test skips with the reason. The base images may be
replaced by a mirror or a local copy: HUIYIN_IMAGE_PYTHON and HUIYIN_IMAGE_NODE (the
Dockerfile's PYTHON_IMAGE and NODE_IMAGE build arguments).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.simulator import BotAPISimulator
from tests.integration.test_health_check import _free_port

pytestmark = [pytest.mark.timeout(1200)]

REPO = Path(__file__).resolve().parents[2]
BASES = {
    "PYTHON_IMAGE": os.environ.get("HUIYIN_IMAGE_PYTHON", "python:3.11-slim"),
    "NODE_IMAGE": os.environ.get("HUIYIN_IMAGE_NODE", "node:20-slim"),
}
RESIDENT, ADMIN = 5_000_001, 5_000_002


def _docker(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["docker", *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def _why_not_usable() -> str | None:
    """Why the image cannot be built here, or None when it can."""
    try:
        version = _docker("version", "--format", "{{.Server.Version}}", timeout=20)
    except (FileNotFoundError, subprocess.TimeoutExpired) as exc:
        return f"no Docker engine ({exc!r})"
    if version.returncode != 0:
        return "no Docker engine: " + (version.stderr.strip().splitlines() or ["?"])[-1]
    for image in BASES.values():
        if _docker("image", "inspect", image).returncode == 0:
            continue
        pulled = _docker("pull", image, timeout=180)
        if pulled.returncode != 0:
            return f"base image {image} is neither here nor pullable (set HUIYIN_IMAGE_*)"
    return None


async def _until(check: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await asyncio.to_thread(check):
            return
        await asyncio.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


async def test_the_image_answers_a_resident_as_pid_1_and_stops_cleanly() -> None:
    problem = await asyncio.to_thread(_why_not_usable)
    if problem:
        pytest.skip("SKIPPED LOUDLY: the runtime image is not built here: " + problem)
    tag = f"huiyin:test-{uuid.uuid4().hex[:8]}"
    volume = f"huiyin-test-{uuid.uuid4().hex[:8]}"
    name = f"huiyin-test-{uuid.uuid4().hex[:8]}"
    build_args = [a for key, image in BASES.items() for a in ("--build-arg", f"{key}={image}")]
    built = await asyncio.to_thread(
        _docker, "build", "--network", "host", "-t", tag, *build_args, str(REPO), timeout=900
    )
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    sim = BotAPISimulator()
    await sim.start()
    try:
        migrated = await asyncio.to_thread(
            _docker, "run", "--rm", "-v", f"{volume}:/data", tag, "huiyin", "db", "upgrade"
        )
        assert migrated.returncode == 0, migrated.stderr[-2000:]
        started = await asyncio.to_thread(
            _docker, "run", "-d", "--name", name, "--network", "host", "-v", f"{volume}:/data",
            "-e", f"TELEGRAM_BOT_TOKEN={sim.token}",
            "-e", f"HUIYIN_TELEGRAM_API_URL={sim.root_url}",
            "-e", f"HUIYIN_ADMIN_IDS={ADMIN}",
            # The host's network: /readyz (the health check) on a port free here, not 8080.
            "-e", f"HUIYIN_OPS_LISTEN=127.0.0.1:{_free_port()}",
            "--health-interval", "2s", "--health-start-period", "2s", "--health-retries", "5",
            tag,
        )
        assert started.returncode == 0, started.stderr[-2000:]

        sim.add_user(RESIDENT, "张阿姨")
        sim.send_text(RESIDENT, "3号楼楼道的灯坏了一个星期了，晚上太黑，老人上下楼很危险")
        await _until(
            lambda: any("工单编号" in (m.get("text") or "") for m in sim.bot_messages(RESIDENT)),
            60, "the resident's acknowledgement",
        )

        pid1 = await asyncio.to_thread(_docker, "exec", name, "cat", "/proc/1/cmdline")
        argv = pid1.stdout.split("\0")
        assert any(part.endswith("huiyin") for part in argv) and "run" in argv, argv

        def healthy() -> bool:
            state = _docker("inspect", "-f", "{{.State.Health.Status}}", name)
            return state.stdout.strip() == "healthy"

        await _until(healthy, 90, "the health check to pass")

        began = time.monotonic()
        stopped = await asyncio.to_thread(_docker, "stop", "-t", "30", name)
        took = time.monotonic() - began
        print(f"docker stop: {took:.1f} s")
        assert stopped.returncode == 0, stopped.stderr
        exit_code = _docker("inspect", "-f", "{{.State.ExitCode}}", name).stdout.strip()
        assert exit_code == "0", f"exit code {exit_code} after SIGTERM"
        assert took < 10, f"docker stop took {took:.1f} s: SIGTERM did not reach the bot"
    finally:
        logs = _docker("logs", name)
        print(logs.stdout[-4000:], logs.stderr[-4000:])
        _docker("rm", "-f", name)
        _docker("volume", "rm", "-f", volume)
        _docker("image", "rm", "--no-prune", tag)  # keeps the layer cache
        await sim.stop()
