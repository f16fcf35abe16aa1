"""Long polling that confirms nothing before it is stored.

Each getUpdates batch (up to 100) is decided in memory (silent chatter, which is not stored),
the rest stored in one round trip, and only then is the next offset asked for, which is what
confirms the batch to Telegram. While the database is unreachable the batch is kept in memory
and stored again with backoff; nothing more is read, so Telegram keeps everything sent
meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram import Bot, Update
from telegram.error import Conflict, InvalidToken, NetworkError, RetryAfter, TelegramError

from bot.delivery.wire import retry_seconds
from bot.intake import raw as rawmod
from bot.intake.chatter import Chatter
from bot.intake.worker import Worker
from storage import inbox
from storage.models import utcnow

log = logging.getLogger("huiyin.intake")


class Intake:
    """Stores raw updates (from polling or the webhook), claims what this instance's worker
    has room for in the same transaction, and hands it over."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        chatter: Chatter,
        worker: Worker | None,
        wake_others: Callable[[], None],
    ) -> None:
        self.sessions = sessions
        self.chatter = chatter
        self.worker = worker
        self.wake_others = wake_others
        self.stored = 0
        self.chatter_count = 0

    def behind(self, full: bool) -> None:
        """The poller read a full batch (more waits) or caught up: see `Worker.behind`."""
        if self.worker is not None:
            self.worker.behind(full)

    def decide(self, updates: Sequence[rawmod.RawUpdate]) -> list[inbox.Incoming]:
        """The inbox rows of a batch: every update but silent chatter, which is decided here.

        Silent chatter is not stored at all: deciding it again after a crash (its batch was
        not yet confirmed) has no effect either, so it needs no record of being handled.
        """
        rows = []
        for update in updates:
            if self.chatter.silent(update):
                self.chatter_count += 1
            else:
                rows.append(rawmod.incoming(update, done=False))
        return rows

    async def store(self, updates: Sequence[rawmod.RawUpdate]) -> int:
        """Store a batch durably (raises when the database is unreachable); a batch of nothing
        but chatter costs no round trip, one with nothing to claim here costs one."""
        await self.chatter.refresh()
        rows = self.decide(updates)
        if not rows:
            return 0
        worker = self.worker
        chats = {row.chat_key for row in rows}
        claimed: list[inbox.Claimed] = []
        now = utcnow()
        if worker is not None and worker.free > 0 and worker.wants(chats):
            # Claimed in the same commit: handling starts without another round trip.
            # (When every chat of the batch is in hand here, nobody could claim its new
            # rows before that chat's task ends, which claims them: no query for nothing.)
            async with self.sessions.begin() as session:
                new = await inbox.store(session, rows, now)
                claimed = await worker.claim_into(session, now)
        else:
            new = await inbox.store_alone(self.sessions, rows, now)
        self.stored += new
        if worker is None:
            self.wake_others()
            return new
        worker.stored(chats)
        worker.dispatch(claimed)
        if not claimed and worker.wants(chats):
            worker.wake()
            self.wake_others()
        return new


class Poller:
    """getUpdates → store → confirm, in a loop."""

    def __init__(
        self,
        bot: Bot,
        intake: Intake,
        *,
        timeout: int = 10,
        limit: int = 100,
        allowed_updates: Sequence[str] = tuple(Update.ALL_TYPES),
    ) -> None:
        self.bot = bot
        self.intake = intake
        self.timeout = timeout
        self.limit = limit
        self.allowed_updates = list(allowed_updates)
        self.offset: int | None = None
        self.batches = 0
        self._task: asyncio.Task[None] | None = None
        self._confirmed = True

    def start(self) -> None:
        """Start polling in the background."""
        if self._task is None:
            self._task = asyncio.create_task(self.run(), name="huiyin-intake-poller")

    async def stop(self) -> None:
        """Stop polling and confirm what was stored (the next start would skip it anyway)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.offset is not None and not self._confirmed:
            with contextlib.suppress(TelegramError, OSError):
                await self._fetch(timeout=0, limit=1)

    async def _fetch(self, *, timeout: int, limit: int) -> list[rawmod.RawUpdate]:
        params: dict[str, Any] = {
            "timeout": timeout,
            "limit": limit,
            "allowed_updates": self.allowed_updates,
        }
        if self.offset is not None:
            params["offset"] = self.offset
        result = await self.bot.do_api_request(
            "getUpdates", api_kwargs=params, read_timeout=timeout + 10.0
        )
        self._confirmed = True
        return [u for u in result if isinstance(u, dict)] if isinstance(result, list) else []

    async def run(self) -> None:
        """Poll forever: a network error or a conflict backs off; a batch is stored before the
        next call confirms it."""
        backoff = 0.5
        while True:
            try:
                batch = await self._fetch(timeout=self.timeout, limit=self.limit)
                backoff = 0.5
            except InvalidToken:
                log.critical("the Bot API refused the token; polling stops")
                raise
            except RetryAfter as exc:
                await asyncio.sleep(retry_seconds(exc))
                continue
            except (Conflict, NetworkError, TelegramError, OSError) as exc:
                log.warning("getUpdates failed (%s); retrying in %.1f s", exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 30.0)
                continue
            if not batch:
                continue
            self.intake.behind(len(batch) >= self.limit)
            await self._store(batch)
            self.offset = max(int(u.get("update_id", 0)) for u in batch) + 1
            self._confirmed = False
            self.batches += 1

    async def _store(self, batch: list[rawmod.RawUpdate]) -> None:
        """Store the batch, retrying with backoff for as long as the database is down."""
        valid = []
        for update in batch:
            try:
                valid.append(rawmod.check(update))
            except rawmod.NotAnUpdate as exc:
                log.error(
                    "getUpdates returned something that is not an update (%s): %r", exc, update
                )
        backoff = 0.5
        down_since: float | None = None
        loop = asyncio.get_running_loop()
        while True:
            try:
                await self.intake.store(valid)
                if down_since is not None:
                    log.warning(
                        "database back after %.1f s; %d updates stored",
                        loop.time() - down_since,
                        len(valid),
                    )
                return
            except Exception as exc:
                if down_since is None:
                    down_since = loop.time()
                    log.error(
                        "cannot store %d updates (%s): not confirming them; retrying",
                        len(valid),
                        exc,
                    )
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)
