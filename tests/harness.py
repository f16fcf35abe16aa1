"""The test harness: the local Bot API simulator and the real bot wired to it.

Tests and benchmarks build a `LocalStack` on a database of their choosing, restart the bot
against it, and read what people see through the simulator (`expect`, `mark`, `buttons`).
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Any

from sqlalchemy import select

from bot.app import Runtime, build_runtime, start_runtime, stop_runtime
from bot.config import load_settings
from bot.delivery.pacing import Limits
from bot.simulator import BotAPISimulator
from bot.simulator.scene import (
    ADMIN_ID,
    RESIDENT_ID,
    STAFF_CHAT_ID,
    STAFF_ID,
    buttons,
    expect,
    mark,
    staff_a_chat,
)
from nlp import Extractor
from storage.db import upgrade
from storage.models import OutboxMessage, OutboxStatus

__all__ = [
    "ADMIN_ID",
    "RESIDENT_ID",
    "STAFF_CHAT_ID",
    "STAFF_ID",
    "LocalStack",
    "buttons",
    "expect",
    "mark",
]


class LocalStack:
    """The local Bot API simulator and the real bot wired to it, on a database of its own."""

    def __init__(
        self,
        *,
        database_url: str | None = None,
        admin_ids: tuple[int, ...] = (ADMIN_ID,),
        extractor: Extractor | None = None,
        limits: Limits | None = None,
        lease_seconds: float = 60.0,
        migrate: bool = True,
        enforce_limits: bool = False,
        redis_url: str | None = None,
    ) -> None:
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self.database_url = database_url
        self.admin_ids = admin_ids
        self.extractor = extractor
        self.limits = limits
        self.lease_seconds = lease_seconds
        self.migrate = migrate
        self.redis_url = redis_url
        self.sim = BotAPISimulator(enforce_limits=enforce_limits)
        self.runtime: Runtime | None = None
        self._staffed: set[tuple[int, int]] = set()

    async def __aenter__(self) -> LocalStack:
        if self.database_url is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="huiyin-")
            self.database_url = f"sqlite+aiosqlite:///{Path(self._tmp.name) / 'test.db'}"
        if self.migrate:
            await upgrade(self.database_url)
        await self.sim.start()
        await self.start_bot()
        return self

    async def start_bot(self) -> Runtime:
        """Build and start the bot against the simulator (again, after a stop)."""
        assert self.database_url is not None
        settings = load_settings(
            HUIYIN_TELEGRAM_API_URL=self.sim.root_url,
            HUIYIN_DATABASE_URL=self.database_url,
            HUIYIN_ADMIN_IDS=",".join(str(i) for i in self.admin_ids),
            HUIYIN_REDIS_URL=self.redis_url,
        )
        self.runtime = await build_runtime(
            settings,
            token=self.sim.token,
            extractor=self.extractor,
            limits=self.limits,
            lease_seconds=self.lease_seconds,
        )
        await start_runtime(self.runtime)
        return self.runtime

    async def stop_bot(self) -> None:
        """Stop the bot but keep the simulator and the database."""
        if self.runtime is not None:
            await stop_runtime(self.runtime)
            self.runtime = None

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop_bot()
        await self.sim.stop()
        if self._tmp is not None:
            self._tmp.cleanup()

    async def recorded(self, message: dict[str, Any], timeout: float = 10.0) -> None:
        """Wait until the bot has recorded `message`, one it sent, as sent: only then can a
        reply to it be matched to it. A person needs seconds to answer a prompt; a test
        answering at once would race the bot's record of its own message."""
        assert self.runtime is not None
        sessions = self.runtime.services.sessions
        query = select(OutboxMessage.id).where(
            OutboxMessage.chat_id == message["chat"]["id"],
            OutboxMessage.message_id == message["message_id"],
            OutboxMessage.status == OutboxStatus.SENT,
        )
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            async with sessions() as session:
                if (await session.execute(query.limit(1))).first() is not None:
                    return
            if loop.time() > deadline:
                raise TimeoutError(f"message {message['message_id']} not recorded as sent")
            await asyncio.sleep(0.02)

    async def setup_staff(
        self,
        staff_id: int = STAFF_ID,
        chat_id: int = STAFF_CHAT_ID,
        name: str = "李明",
        department: str = "",
    ) -> None:
        """Bind a staff chat and register one member of staff there (once per pair)."""
        if (staff_id, chat_id) in self._staffed:
            return
        self._staffed.add((staff_id, chat_id))
        await staff_a_chat(
            self.sim,
            admin_id=self.admin_ids[0],
            staff_id=staff_id,
            chat_id=chat_id,
            name=name,
            department=department,
        )
