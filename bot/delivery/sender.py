"""The outbox sender: the only code that sends messages, paced to Telegram's limits.

Services store intents (`bot.intents`); this module alone turns them into Bot API calls.
Each chat's rows go strictly in order (a card is posted before it is edited), oldest chats
first. A row is leased before it is sent; a process that dies mid-send leaves the lease to
expire and the row is sent again after restart (at-least-once).

Pacing is shared by every instance through the coordinator (Redis, or in process for one
instance): one schedule of slots for the overall rate, given only where no second of arrivals
can exceed the limit (`Pacer.turn`), and a window per private chat and per group.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram import Bot
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
)

from bot.delivery import wire
from bot.delivery.pacing import Limits, Pacer
from bot.delivery.rows import HEADS_MAX, OutboxRows
from bot.errors import IntentError
from bot.intents import Card, Digest, DigestEntry, GroupAnswer, Kind, loads
from bot.metrics import COUNTERS
from bot.services.supervision import unreachable
from storage.coordination.base import Coordinator
from storage.models import OutboxMessage, OutboxStatus, utcnow

log = logging.getLogger("huiyin.delivery")

BATCH_MAX = 20
DIGEST_MAX = 5  # cards in one digest: their buttons stay under Telegram's 100


def _quiet(kind: str) -> bool:
    return kind == Kind.GROUP_ANSWER


def _is_card(row: OutboxMessage) -> bool:
    return row.kind == Kind.CARD and row.ticket_id is not None


class OutboxSender:
    """Drains the outbox through the real Bot API client."""

    def __init__(
        self,
        bot: Bot,
        sessions: async_sessionmaker[AsyncSession],
        *,
        limits: Limits | None = None,
        coordinator: Coordinator | None = None,
        lease_seconds: float = 60.0,
        max_network_attempts: int = 12,
        max_backoff: float = 300.0,
        clock: Callable[[], datetime] = utcnow,
        concurrency: int = 16,
    ) -> None:
        self.bot = bot
        self.sessions = sessions
        self.pacer = Pacer(limits or Limits(), coordinator)
        self.lease = timedelta(seconds=lease_seconds)
        self.max_network_attempts = max_network_attempts
        self.max_backoff = max_backoff
        self.clock = clock
        self.rows = OutboxRows(sessions, lease=self.lease, clock=clock)
        self._event = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._slots = asyncio.Semaphore(concurrency)
        # About a second of sends in flight at once: enough to keep the schedule full while
        # the next pass reads the queue, few enough that a stop finds little half done.
        self._max_inflight = max(
            concurrency, min(HEADS_MAX, math.ceil(self.pacer.limits.per_second))
        )
        self._inflight: set[asyncio.Task[None]] = set()
        self.sent_count = 0

    def wake(self) -> None:
        """Tell the sender new rows were committed."""
        self._event.set()

    def start(self) -> None:
        """Start draining in the background."""
        if self._task is None:
            self._task = asyncio.create_task(self.run(), name="huiyin-outbox")

    async def stop(self, grace: float = 5.0) -> None:
        """Stop after the sends in flight are recorded; past `grace`, cancel (leases expire)."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping = True
        self._event.set()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        try:
            await asyncio.wait_for(asyncio.shield(task), timeout=grace)
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        finally:
            self._stopping = False
        sends = set(self._inflight)
        if sends:
            _, late = await asyncio.wait(sends, timeout=max(0.0, deadline - loop.time()))
            for send in late:
                send.cancel()
            await asyncio.gather(*late, return_exceptions=True)

    async def run(self) -> None:
        """Send due rows until stopped, sleeping until woken or until the next row is due."""
        while not self._stopping:
            # Cleared before the pass, not after: a wake() for a row committed while the pass
            # was reading must cut the next sleep short, not be lost with it.
            self._event.clear()
            try:
                delay = await self.drain_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox pass failed; retrying shortly")
                delay = 1.0
            if delay == 0.0 or self._stopping:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._event.wait(), timeout=delay)

    async def drain_once(self) -> float:
        """Start sending what may be sent now; return how long to wait before the next pass."""
        if len(self._inflight) > self._max_inflight // 2:
            # Refill in batches: a pass (queue query, pacing look-up, claim) per half second of
            # sends, not one per message sent.
            while len(self._inflight) > self._max_inflight // 2:
                await asyncio.wait(self._inflight, return_when=asyncio.FIRST_COMPLETED)
            return 0.0
        loop = asyncio.get_running_loop()
        now = self.clock()
        rows = await self.rows.heads(now)
        if not rows:
            if self._inflight:  # their chats' next rows become heads when they finish
                await asyncio.wait(self._inflight, return_when=asyncio.FIRST_COMPLETED)
                return 0.0
            return await self.rows.next_due_in(now)
        room = self._max_inflight - len(self._inflight)
        ready: list[OutboxMessage] = []
        soonest = 1.0
        # The chats' pacing is looked up a part at a time, only until there is enough to send.
        part = max(32, 2 * room)
        for start in range(0, len(rows), part):
            chunk = rows[start : start + part]
            chats = [(r.chat_id, _quiet(r.kind)) for r in chunk]
            for row, wait in zip(chunk, await self.pacer.waits(chats, loop.time()), strict=True):
                if wait > 0:
                    soonest = min(soonest, wait)
                elif len(ready) < room:
                    ready.append(row)
            if len(ready) >= room:
                break
        if not ready:
            if self._inflight:
                with contextlib.suppress(TimeoutError):
                    # A snapshot: sends finishing before the wait starts empty the live set.
                    await asyncio.wait_for(
                        asyncio.wait(set(self._inflight), return_when=asyncio.FIRST_COMPLETED),
                        timeout=soonest,
                    )
                return 0.0
            return max(soonest, 0.01)
        claimed = await self.rows.claim([r.id for r in ready], now)
        for row in (r for r in ready if r.id in claimed):
            followers: list[OutboxMessage] = []
            if self._batches(row):
                followers = await self.rows.claim_followers(row, now, self._batches, BATCH_MAX)
            elif self._digests(row):
                followers = await self.rows.claim_followers(row, now, _is_card, DIGEST_MAX - 1)
            send = asyncio.create_task(self._send(row, followers))
            self._inflight.add(send)
            send.add_done_callback(self._inflight.discard)
        return 0.0

    def _batches(self, row: OutboxMessage) -> bool:
        """A group answer without buttons takes the plain answers queued behind it along."""
        if row.kind != Kind.GROUP_ANSWER:
            return False
        with contextlib.suppress(IntentError):
            intent = loads(row.kind, row.payload)
            return isinstance(intent, GroupAnswer) and not intent.buttons
        return False

    def _digests(self, row: OutboxMessage) -> bool:
        """New cards for a group that is near its per-minute ceiling share one message."""
        return _is_card(row) and row.chat_id < 0 and self.pacer.busy(row.chat_id)

    async def _send(self, row: OutboxMessage, followers: list[OutboxMessage]) -> None:
        try:
            intent = loads(row.kind, row.payload)
            call = await wire.request(self.rows, row, intent)
            if call is None:
                await self.rows.finish(
                    row, OutboxStatus.FAILED, error="the message it refers to was not sent"
                )
                return
            if followers and isinstance(intent, Card):
                cards = [(row, intent)] + [(f, loads(f.kind, f.payload)) for f in followers]
                call.digest = Digest(
                    tuple(
                        DigestEntry(r.ticket_id or 0, c.text, c.buttons, c.title)
                        for r, c in cards
                        if isinstance(c, Card)
                    )
                )
                call.digest_row = row.id
                call.params = wire.digest_message(row.chat_id, call.digest)
            elif followers:
                answers = [intent] + [loads(f.kind, f.payload) for f in followers]
                wire.batch_answers(call.params, row.chat_id, answers)
            if (
                call.method in wire.POSTS
                and row.chat_id < 0
                and "reply_parameters" not in call.params
            ):
                # A reply lands in its post's topic; anything else in its row's topic.
                thread = await self.rows.topic(row)
                if thread:
                    call.params["message_thread_id"] = thread
            place = await self.pacer.turn()
            # Noted as it leaves, alongside the request (the chat's next message is looked at
            # only after this one is done).
            noted = asyncio.ensure_future(self.pacer.record(row.chat_id, quiet=_quiet(row.kind)))
            try:
                async with self._slots:  # requests in flight; waits and writes happen outside
                    result = await self.bot.do_api_request(call.method, api_kwargs=call.params)
            finally:
                answered = asyncio.get_running_loop().time()
                await noted
                await self.pacer.landed(place, answered)
        except IntentError as exc:
            log.error("outbox %s: %s", row.id, exc)
            await self.rows.finish(row, OutboxStatus.FAILED, error=str(exc))
        except RetryAfter as exc:
            COUNTERS.inc("telegram_429")
            retry = wire.retry_seconds(exc)
            self.pacer.pause(row.chat_id, asyncio.get_running_loop().time() + retry)
            await self.rows.retry(row, retry, f"429 retry_after={retry}", count=False)
        except Forbidden as exc:
            await self._refused(row, exc.message)
        except ChatMigrated as exc:
            await self.rows.migrated(row, exc.new_chat_id)
            log.info(
                "chat %s became supergroup %s; its messages follow", row.chat_id, exc.new_chat_id
            )
            self.wake()
        except BadRequest as exc:
            if wire.already_done(exc.message):
                await self.rows.finish(row, OutboxStatus.SENT)
            elif unreachable.is_final(exc.message):
                await self._refused(row, exc.message)
            else:
                log.error("outbox %s refused by Telegram: %s", row.id, exc.message)
                await self.rows.finish(row, OutboxStatus.FAILED, error=exc.message)
        except (NetworkError, TelegramError) as exc:
            await self._network_failure(row, str(exc))
        except Exception as exc:
            log.exception("outbox %s: unexpected error", row.id)
            await self._network_failure(row, repr(exc))
        else:
            message_id = result.get("message_id") if isinstance(result, dict) else None
            await self.rows.finish(
                row, OutboxStatus.SENT, message_id=message_id, method=call.method
            )
            for follower in followers:
                await self.rows.finish(follower, OutboxStatus.SENT, message_id=message_id)
            if call.digest is not None and call.digest_row is not None:
                await self.rows.keep_digest(call.digest_row, call.digest)
            self.sent_count += 1
            return
        for follower in followers:
            await self.rows.release(follower)

    def _backoff(self, attempts: int) -> float:
        return min(self.max_backoff, 0.5 * 2 ** min(attempts - 1, 30)) * random.uniform(0.8, 1.2)

    async def _network_failure(self, row: OutboxMessage, error: str) -> None:
        attempts = row.attempts + 1
        if attempts >= self.max_network_attempts:
            log.error("outbox %s gave up after %s attempts: %s", row.id, attempts, error)
            await self.rows.finish(row, OutboxStatus.FAILED, error=error)
            return
        delay = self._backoff(attempts)
        log.warning("outbox %s: %s; retry in %.1fs", row.id, error, delay)
        await self.rows.retry(row, delay, error, count=True)

    async def _refused(self, row: OutboxMessage, description: str) -> None:
        """Telegram refused the chat: final for a blocked, deactivated or missing chat (the
        service decides what follows), otherwise kept and tried again until the chat works."""
        if not unreachable.is_final(description):
            delay = self._backoff(row.attempts + 1)
            log.warning(
                "outbox %s: %s; the chat may work again, retry in %.1fs",
                row.id,
                description,
                delay,
            )
            await self.rows.retry(row, delay, description, count=True)
            return
        async with self.sessions.begin() as session:
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == row.id)
                .values(
                    status=OutboxStatus.UNDELIVERABLE, last_error=description, locked_until=None
                )
            )
            await unreachable.chat_refused(
                session,
                chat_id=row.chat_id,
                ticket_id=row.ticket_id,
                reason=description,
                bot_username=self.bot.username,
                now=self.clock(),
            )
        log.warning("outbox %s undeliverable to %s: %s", row.id, row.chat_id, description)
