"""Workers: claim stored updates chat by chat and run them through the Application's handlers.

Each claim takes the oldest pending update of chats that have nothing in flight, so a chat's
updates run one after another while different chats run in parallel, on any number of
instances. A handler that fails is retried with backoff; after `max_attempts` the update is
dead-lettered and its sender gets an apology in the same transaction. While the database is
unreachable nothing is counted as a failure: the claim is given back and retried later.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram import Update
from telegram.error import TelegramError
from telegram.ext import Application

from bot import texts
from bot.errors import NotYetSent
from bot.intake import handled
from bot.intake.chatter import GRIDS_CHANNEL, Chatter, is_binding
from bot.intake.raw import apology_target
from bot.intents import Notice
from storage import inbox
from storage.coordination.base import Coordinator
from storage.db import single_statements
from storage.models import utcnow
from storage.outbox import enqueue

log = logging.getLogger("huiyin.intake")

INBOX_CHANNEL = "inbox"
OUTAGE_ERRORS: tuple[type[BaseException], ...] = (
    OperationalError,
    InterfaceError,
    OSError,
    ConnectionError,
    TimeoutError,
)


def is_outage(exc: BaseException) -> bool:
    """Whether an error means the database (not the update) is the problem."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, OUTAGE_ERRORS)


class Worker:
    """Claims and handles stored updates until stopped."""

    def __init__(
        self,
        application: Application[Any, Any, Any, Any, Any, Any],
        sessions: async_sessionmaker[AsyncSession],
        coordinator: Coordinator,
        chatter: Chatter,
        *,
        concurrency: int = 16,
        lease_seconds: float = 60.0,
        max_attempts: int = 5,
        backoff_seconds: float = 2.0,
        idle_poll: float = 1.0,
        prune_every: float = 600.0,
        intake_first_seconds: float = 5.0,
    ) -> None:
        self.application = application
        self.sessions = sessions
        self._single = single_statements(sessions)
        self.coordinator = coordinator
        self.chatter = chatter
        self.concurrency = concurrency
        self.lease = timedelta(seconds=lease_seconds)
        self.max_attempts = max_attempts
        self.backoff_seconds = backoff_seconds
        self.idle_poll = idle_poll
        self.prune_every = prune_every
        self.intake_first_seconds = intake_first_seconds
        self.handled = 0
        self._behind_since: float | None = None  # the poller has read full batches since then
        self._hold_until = float("-inf")  # no new chats are taken on before this (monotonic)
        self._wake = asyncio.Event()
        self._dirty = True  # there may be claimable updates nobody has looked for yet
        self._running: set[asyncio.Task[None]] = set()
        self._chats: dict[int, bool] = {}  # chats in hand → more was stored for them meanwhile
        self._task: asyncio.Task[None] | None = None
        self._last_prune = float("-inf")
        self._asked = concurrency  # chats the last claim asked for
        coordinator.subscribe(INBOX_CHANNEL, self.wake)
        handled.install()

    @property
    def free(self) -> int:
        """How many more chats this worker can take on now (none while the intake catches up)."""
        if time.monotonic() < self._hold_until:
            return 0
        return max(0, self.concurrency - len(self._running))

    def behind(self, full: bool) -> None:
        """The poller read a full batch (`full`: more waits at Telegram) or caught up.

        While it catches up on a backlog, no new chat is taken on, so reading and storing
        (which is what makes an update safe) gets the loop first; chats in hand go on. The hold
        lasts at most `intake_first_seconds` per backlog (a steady flood never starves the
        handlers) and lapses by itself half a second after the last full batch.
        """
        now = time.monotonic()
        if not full:
            self._behind_since = None
            if self._hold_until > now:
                self._hold_until = float("-inf")
                self.wake()
            return
        if self._behind_since is None:
            self._behind_since = now
        self._hold_until = min(now + 0.5, self._behind_since + self.intake_first_seconds)

    def wake(self, _message: str = "") -> None:
        """Look for work now (updates were stored, here or on another instance)."""
        self._dirty = True
        self._wake.set()

    def start(self) -> None:
        """Start claiming in the background."""
        if self._task is None:
            self._task = asyncio.create_task(self.run(), name="huiyin-intake-worker")

    async def stop(self, grace: float = 10.0) -> None:
        """Stop claiming; let updates in flight finish (their claims expire if they do not)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._running:
            await asyncio.wait(set(self._running), timeout=grace)
        for running in list(self._running):
            running.cancel()
        await asyncio.gather(*self._running, return_exceptions=True)

    async def claim_into(self, session: AsyncSession, now: datetime) -> list[inbox.Claimed]:
        """Claim what this worker has room for, inside the caller's transaction (the intake
        stores a batch and claims it in one commit); pass the rows to `dispatch` after it."""
        self._asked = self.free
        return await inbox.claim(session, now, limit=self._asked, lease=self.lease)

    def wants(self, chat_keys: set[int]) -> bool:
        """Whether any of these chats is not in hand here (so a claim may find work)."""
        return not chat_keys <= self._chats.keys()

    def stored(self, chat_keys: set[int]) -> None:
        """Updates of these chats were stored: those of a chat in hand are claimed as soon as
        its task ends (nobody else can take them before)."""
        for chat_key in chat_keys & self._chats.keys():
            self._chats[chat_key] = True

    def dispatch(self, claimed: list[inbox.Claimed]) -> None:
        """Handle claimed rows: one task per chat, each chat's rows in order."""
        chats: dict[int, list[inbox.Claimed]] = {}
        for row in claimed:
            chats.setdefault(row.chat_key, []).append(row)
        for chat_key, rows in chats.items():
            self._chats[chat_key] = False
            task = asyncio.create_task(self._run_chat(rows), name=f"huiyin-chat-{chat_key}")
            self._running.add(task)
            task.add_done_callback(self._finished)
        if claimed and len(chats) >= self._asked:
            # As many chats as were asked for: more may be waiting (a refill of one free place
            # is full too, and nothing else would look before the next idle poll).
            self._dirty = True

    async def run(self) -> None:
        """Claim when told there is work (and every `idle_poll` seconds), forever."""
        backoff = 0.5
        while True:
            if self.free > 0:
                try:
                    self._dirty = False
                    self.dispatch(await self._claim(self.free))
                    await self._maybe_prune()
                    backoff = 0.5
                except Exception as exc:
                    self._dirty = True
                    log.warning(
                        "inbox: cannot claim updates (%s); retrying in %.1f s", exc, backoff
                    )
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 10.0)
                    continue
            self._wake.clear()
            if self._dirty and self.free > 0:
                continue
            wait = self.idle_poll
            held = self._hold_until - time.monotonic()
            if held > 0:
                wait = min(wait, held + 0.001)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._wake.wait()

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        if self._dirty:
            self._wake.set()

    async def _claim(self, limit: int) -> list[inbox.Claimed]:
        self._asked = limit
        async with self._single.begin() as session:  # one statement
            return await inbox.claim(session, utcnow(), limit=limit, lease=self.lease)

    async def _run_chat(self, rows: list[inbox.Claimed]) -> None:
        """One chat's claimed rows in order; stop at one that did not finish (it is retried
        first) and give the rest back."""
        chat_key = rows[0].chat_key
        try:
            await self._run_rows(rows)
        finally:
            if self._chats.pop(chat_key, False):
                self.wake()

    async def _run_rows(self, rows: list[inbox.Claimed]) -> None:
        for i, row in enumerate(rows):
            if await self._handle(row):
                continue
            rest = rows[i + 1 :]
            if rest:
                with contextlib.suppress(Exception):  # if not, their lease runs out
                    async with self.sessions.begin() as session:
                        await inbox.unclaim(session, rest)
            self.wake()
            return

    async def _maybe_prune(self) -> None:
        if time.monotonic() - self._last_prune < self.prune_every:
            return
        self._last_prune = time.monotonic()
        async with self.sessions.begin() as session:
            pruned = await inbox.prune(session, utcnow())
        if pruned:
            log.info("inbox: pruned %d handled updates older than 48 h", pruned)

    async def _handle(self, row: inbox.Claimed) -> bool:
        """Run one update through the handlers; record the outcome; True when it is done."""
        mark = handled.Mark(row.id, row.claim)
        token = handled.current.set(mark)
        raw: dict[str, Any] = {}
        try:
            raw = json.loads(row.payload)
            update = Update.de_json(raw, self.application.bot)
            await self.application.process_update(update)
        except Exception as exc:  # a payload PTB cannot read
            mark.error = exc
        finally:
            handled.current.reset(token)
        done = await self._settle_until_recorded(row, mark, raw)
        if raw and is_binding(raw):
            self.chatter.invalidate()
            await self.chatter.refresh()
            await self.coordinator.publish(GRIDS_CHANNEL, "1")
        return done

    async def _settle_until_recorded(
        self, row: inbox.Claimed, mark: handled.Mark, raw: dict[str, Any]
    ) -> bool:
        """Record the outcome, retrying while the database is away (the chat's next update
        waits behind this one). Past the lease another worker takes the update over: its
        effects either committed with the mark, or not at all."""
        backoff = 0.2
        deadline = time.monotonic() + self.lease.total_seconds()
        while True:
            try:
                return await self._settle(row, mark, raw)
            except Exception as exc:
                if time.monotonic() + backoff > deadline:
                    log.warning("inbox: could not record update %s (%s)", row.update_id, exc)
                    return False
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)

    async def _settle(self, row: inbox.Claimed, mark: handled.Mark, raw: dict[str, Any]) -> bool:
        error = mark.error
        if mark.done:
            self.handled += 1
            if isinstance(error, TelegramError):  # e.g. a callback answered too late
                log.warning("update %s handled; then Telegram said: %s", row.update_id, error)
            elif error is not None:
                log.error(
                    "update %s failed after its effects committed", row.update_id, exc_info=error
                )
            return True
        if isinstance(error, handled.ClaimLost):
            log.info("update %s was taken over by another worker", row.update_id)
            return False
        now = utcnow()
        if error is None:
            async with self.sessions.begin() as session:
                marked = await inbox.mark_done(session, row.id, row.claim, now)
            self.handled += marked
            return marked
        if isinstance(error, NotYetSent):
            log.info("update %s waits for its prompt to be recorded as sent", row.update_id)
            async with self.sessions.begin() as session:
                retry_at = now + timedelta(seconds=0.2)
                await inbox.release(session, row.id, row.claim, retry_at=retry_at)
            return False
        if is_outage(error):
            log.warning("update %s waits for the database (%s)", row.update_id, error)
            async with self.sessions.begin() as session:
                retry_at = now + timedelta(seconds=1)
                await inbox.release(session, row.id, row.claim, retry_at=retry_at)
            return False
        description = f"{type(error).__name__}: {error}"
        async with self.sessions.begin() as session:
            status = await inbox.fail(
                session,
                row,
                description,
                now,
                max_attempts=self.max_attempts,
                backoff=self.backoff_seconds,
            )
            if status == inbox.DEAD:
                await _apologise(session, row, raw)
        if status == inbox.DEAD:
            log.error(
                "update %s dead-lettered after %d attempts: %s",
                row.update_id,
                row.attempts + 1,
                description,
                exc_info=error,
            )
            self._wake_sender()
            return True
        else:
            log.warning(
                "update %s failed (attempt %d), will retry: %s",
                row.update_id,
                row.attempts + 1,
                description,
            )
        return False

    def _wake_sender(self) -> None:
        services = self.application.bot_data.get("services")
        wake = getattr(services, "wake", None)
        if callable(wake):
            wake()


async def _apologise(session: AsyncSession, row: inbox.Claimed, raw: dict[str, Any]) -> None:
    """Tell the sender we could not handle their message (never silence)."""
    target = apology_target(raw) if raw else (row.chat_key, None) if row.chat_key else None
    if target is None:
        return
    chat_id, message_id = target
    await enqueue(
        session,
        key=f"inbox-dead:{row.id}:{row.update_id}",
        chat_id=chat_id,
        intent=Notice(texts.INBOX_APOLOGY, reply_to=message_id),
    )
