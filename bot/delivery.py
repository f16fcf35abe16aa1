"""The outbox sender: the only code that sends messages, paced to Telegram's limits.

Rows are sent oldest first and strictly in order within a chat (a card is posted before it is
edited). A row is leased before it is sent; a process that dies mid-send leaves the lease to
expire and the row is sent again after restart (at-least-once).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import warnings
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased
from telegram import Bot
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.warnings import PTBDeprecationWarning

from bot import texts
from bot.domain import EventKind, Role
from bot.metrics import COUNTERS
from bot.services import gate
from storage.models import OutboxMessage, StaffCard, Ticket, User, utcnow
from storage.outbox import enqueue

log = logging.getLogger("huiyin.delivery")

PENDING, SENT, FAILED, UNDELIVERABLE = "pending", "sent", "failed", "undeliverable"
QUIET = frozenset({"group_ack", "group_prompt"})
BATCHED = "group_ack"
BATCH_MAX = 20


@dataclass(frozen=True)
class Limits:
    """Telegram's published pacing: overall, per private chat, per group."""

    per_second: int = 30
    # Telegram counts a message when it arrives; requests leave in order but travel for
    # different times, so a full second as sent can be 31 as received. The window is
    # widened by this much (measured: 6 refusals in 1,200 messages with none).
    global_margin: float = 0.1
    private_interval: float = 1.0
    group_per_minute: int = 20
    quiet_per_minute: int = 6  # the bot's own answers in a grid group, batched beyond this
    quiet_window: float = 60.0


class Pacer:
    """Decides when each chat may receive its next message."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self._global: deque[float] = deque()
        self._last_private: dict[int, float] = {}
        self._groups: dict[int, deque[float]] = {}
        self._quiet: dict[int, deque[float]] = {}
        self._paused: dict[int, float] = {}

    def wait(self, chat_id: int, now: float, *, quiet: bool = False) -> float:
        """Seconds until `chat_id` may receive a message (0 when it may now)."""
        waits = [self._paused.get(chat_id, 0.0) - now]
        if quiet:
            sent_quiet = self._quiet.get(chat_id)
            limit = self.limits.quiet_per_minute
            if sent_quiet and len(sent_quiet) >= limit:
                waits.append(sent_quiet[-limit] + self.limits.quiet_window - now)
        if chat_id > 0:
            last = self._last_private.get(chat_id)
            if last is not None:
                waits.append(last + self.limits.private_interval - now)
        else:
            sent = self._groups.get(chat_id)
            if sent and len(sent) >= self.limits.group_per_minute:
                waits.append(sent[-self.limits.group_per_minute] + 60.0 - now)
        return max(0.0, *waits)

    def global_room(self, now: float) -> int:
        """How many messages may go out in the current one-second window (plus the margin)."""
        window = 1.0 + self.limits.global_margin
        while self._global and self._global[0] <= now - window:
            self._global.popleft()
        return max(0, self.limits.per_second - len(self._global))

    def global_wait(self, now: float) -> float:
        """Seconds until one more message fits under the overall limit."""
        if self.global_room(now) > 0:
            return 0.0
        return max(0.0, self._global[0] + 1.0 + self.limits.global_margin - now)

    def record_global(self, now: float) -> None:
        """Note one message leaving for Telegram at `now` (counted against the overall limit)."""
        self._global.append(now)

    def record(self, chat_id: int, now: float, *, quiet: bool = False) -> None:
        """Note a send to `chat_id` at `now`."""
        if quiet:
            sent_quiet = self._quiet.setdefault(chat_id, deque())
            sent_quiet.append(now)
            while len(sent_quiet) > self.limits.quiet_per_minute:
                sent_quiet.popleft()
        if chat_id > 0:
            self._last_private[chat_id] = now
        else:
            sent = self._groups.setdefault(chat_id, deque())
            sent.append(now)
            while len(sent) > self.limits.group_per_minute:
                sent.popleft()

    def pause(self, chat_id: int, until: float) -> None:
        """Hold a chat until `until` (after a 429)."""
        self._paused[chat_id] = max(self._paused.get(chat_id, 0.0), until)


def _already_done(description: str) -> bool:
    """Refusals that mean the wanted state already holds (an edit or delete done before)."""
    text = description.lower()
    return "message is not modified" in text or "message to delete not found" in text


def retry_seconds(exc: RetryAfter) -> float:
    """Seconds Telegram asked us to wait, whichever type this PTB version reports."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class OutboxSender:
    """Drains the outbox through the real Bot API client."""

    def __init__(
        self,
        bot: Bot,
        sessions: async_sessionmaker[AsyncSession],
        *,
        limits: Limits | None = None,
        lease_seconds: float = 60.0,
        max_network_attempts: int = 12,
        max_backoff: float = 300.0,
        clock: Callable[[], datetime] = utcnow,
        concurrency: int = 8,
    ) -> None:
        self.bot = bot
        self.sessions = sessions
        self.pacer = Pacer(limits or Limits())
        self.lease = timedelta(seconds=lease_seconds)
        self.max_network_attempts = max_network_attempts
        self.max_backoff = max_backoff
        self.clock = clock
        self._event = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._slots = asyncio.Semaphore(concurrency)
        self._gate = asyncio.Lock()
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
        try:
            await asyncio.wait_for(asyncio.shield(task), timeout=grace)
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        finally:
            self._stopping = False

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
        """Send what may be sent now; return how long to wait before the next pass (0: go on)."""
        loop = asyncio.get_running_loop()
        now = self.clock()
        rows = await self._heads(now)
        if not rows:
            return await self._next_due_in(now)
        mono = loop.time()
        room = self.pacer.global_room(mono)
        ready: list[OutboxMessage] = []
        soonest = 1.0
        for row in rows:
            wait = self.pacer.wait(row.chat_id, mono, quiet=row.purpose in QUIET)
            if wait > 0:
                soonest = min(soonest, wait)
                continue
            if len(ready) >= room:
                soonest = min(soonest, 0.05)
                break
            ready.append(row)
        if not ready:
            return max(soonest, 0.01)
        claimed = await self._claim([r.id for r in ready], now)
        batch = [r for r in ready if r.id in claimed]
        followers: dict[int, list[OutboxMessage]] = {}
        for row in batch:
            self.pacer.record(row.chat_id, mono, quiet=row.purpose in QUIET)
            if row.purpose == BATCHED:
                followers[row.id] = await self._claim_followers(row, now)
        await asyncio.gather(*(self._send(row, followers.get(row.id, [])) for row in batch))
        return 0.0

    async def _claim_followers(self, head: OutboxMessage, now: datetime) -> list[OutboxMessage]:
        """Group answers queued right behind `head` in its chat, to go out as one message."""
        async with self.sessions() as session:
            queued = (
                await session.execute(
                    select(OutboxMessage)
                    .where(
                        OutboxMessage.chat_id == head.chat_id,
                        OutboxMessage.status == PENDING,
                        OutboxMessage.id > head.id,
                    )
                    .order_by(OutboxMessage.id)
                    .limit(BATCH_MAX)
                )
            ).scalars()
            run: list[OutboxMessage] = []
            for row in queued:
                if row.purpose != BATCHED or row.next_attempt_at > now:
                    break
                run.append(row)
        if not run:
            return []
        claimed = await self._claim([r.id for r in run], now)
        return [r for r in run if r.id in claimed]

    async def _heads(self, now: datetime) -> list[OutboxMessage]:
        earlier = aliased(OutboxMessage)
        stmt = (
            select(OutboxMessage)
            .where(
                OutboxMessage.status == PENDING,
                OutboxMessage.next_attempt_at <= now,
                or_(OutboxMessage.locked_until.is_(None), OutboxMessage.locked_until < now),
                ~exists().where(
                    and_(
                        earlier.chat_id == OutboxMessage.chat_id,
                        earlier.status == PENDING,
                        earlier.id < OutboxMessage.id,
                    )
                ),
            )
            .order_by(OutboxMessage.id)
            .limit(200)
        )
        async with self.sessions() as session:
            return list((await session.execute(stmt)).scalars())

    async def _next_due_in(self, now: datetime) -> float:
        async with self.sessions() as session:
            due = (
                await session.execute(
                    select(OutboxMessage.next_attempt_at)
                    .where(OutboxMessage.status == PENDING)
                    .order_by(OutboxMessage.next_attempt_at)
                    .limit(1)
                )
            ).scalar_one_or_none()
        if due is None:
            return 5.0
        return min(5.0, max(0.05, (due - now).total_seconds()))

    async def _claim(self, ids: list[int], now: datetime) -> set[int]:
        async with self.sessions.begin() as session:
            result = await session.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.id.in_(ids),
                    OutboxMessage.status == PENDING,
                    or_(OutboxMessage.locked_until.is_(None), OutboxMessage.locked_until < now),
                )
                .values(locked_until=now + self.lease, attempts=OutboxMessage.attempts + 1)
                .returning(OutboxMessage.id)
            )
            return set(result.scalars())

    async def _params(self, row: OutboxMessage) -> dict[str, Any] | None:
        params: dict[str, Any] = json.loads(row.payload)
        params["chat_id"] = row.chat_id
        if row.purpose == "card_edit":
            async with self.sessions() as session:
                card = await session.get(StaffCard, (row.ticket_id, row.chat_id))
            if card is None:
                return None
            params["message_id"] = card.message_id
        ref_key = params.pop("ref_key", None)
        if ref_key is not None:
            async with self.sessions() as session:
                ref = (
                    await session.execute(
                        select(OutboxMessage.message_id).where(
                            OutboxMessage.idempotency_key == ref_key
                        )
                    )
                ).scalar_one_or_none()
            if ref is None:
                return None
            params["message_id"] = ref
        return params

    async def _global_turn(self) -> None:
        """Wait for room under the overall limit, counted when the request really leaves."""
        loop = asyncio.get_running_loop()
        async with self._gate:
            wait = self.pacer.global_wait(loop.time())
            if wait > 0:
                await asyncio.sleep(wait)
            self.pacer.record_global(loop.time())

    async def _send(self, row: OutboxMessage, followers: list[OutboxMessage]) -> None:
        async with self._slots:
            await self._global_turn()
            try:
                params = await self._params(row)
                if params is not None and followers:
                    # Several answers in one message: it can no longer reply to one post.
                    params.pop("reply_parameters", None)
                    lines = [params["text"]] + [json.loads(f.payload)["text"] for f in followers]
                    params["text"] = "\n".join(lines)[:4096]
                if params is None:
                    await self._finish(row, FAILED, error="the message it refers to was not sent")
                    return
                result = await self.bot.do_api_request(row.method, api_kwargs=params)
            except RetryAfter as exc:
                COUNTERS.inc("telegram_429")
                retry = retry_seconds(exc)
                loop = asyncio.get_running_loop()
                self.pacer.pause(row.chat_id, loop.time() + retry)
                await self._retry(row, retry, f"429 retry_after={retry}", count=False)
            except Forbidden as exc:
                await self._undeliverable(row, exc.message)
            except BadRequest as exc:
                if _already_done(exc.message):
                    await self._finish(row, SENT)
                else:
                    log.error("outbox %s refused by Telegram: %s", row.id, exc.message)
                    await self._finish(row, FAILED, error=exc.message)
            except (NetworkError, TelegramError) as exc:
                await self._network_failure(row, str(exc))
            except Exception as exc:
                log.exception("outbox %s: unexpected error", row.id)
                await self._network_failure(row, repr(exc))
            else:
                message_id = result.get("message_id") if isinstance(result, dict) else None
                await self._finish(row, SENT, message_id=message_id)
                for follower in followers:
                    await self._finish(follower, SENT, message_id=message_id)
                self.sent_count += 1
                return
            for follower in followers:
                await self._release(follower)

    async def _finish(
        self,
        row: OutboxMessage,
        status: str,
        *,
        error: str | None = None,
        message_id: int | None = None,
    ) -> None:
        async with self.sessions.begin() as session:
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == row.id)
                .values(
                    status=status,
                    last_error=error,
                    message_id=message_id,
                    sent_at=self.clock() if status == SENT else None,
                    locked_until=None,
                )
            )
            if status == SENT and row.purpose == "card" and message_id and row.ticket_id:
                card = await session.get(StaffCard, (row.ticket_id, row.chat_id))
                if card is None:
                    session.add(
                        StaffCard(
                            ticket_id=row.ticket_id, chat_id=row.chat_id, message_id=message_id
                        )
                    )
                else:
                    card.message_id = message_id

    async def _release(self, row: OutboxMessage) -> None:
        """Give a claimed row back untouched (its batch head failed; it goes out later)."""
        async with self.sessions.begin() as session:
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == row.id)
                .values(locked_until=None, attempts=OutboxMessage.attempts - 1)
            )

    async def _retry(self, row: OutboxMessage, delay: float, error: str, *, count: bool) -> None:
        async with self.sessions.begin() as session:
            values: dict[str, Any] = {
                "next_attempt_at": self.clock() + timedelta(seconds=delay),
                "locked_until": None,
                "last_error": error,
            }
            if not count:
                values["attempts"] = OutboxMessage.attempts - 1
            await session.execute(
                update(OutboxMessage).where(OutboxMessage.id == row.id).values(**values)
            )

    async def _network_failure(self, row: OutboxMessage, error: str) -> None:
        attempts = row.attempts + 1
        if attempts >= self.max_network_attempts:
            log.error("outbox %s gave up after %s attempts: %s", row.id, attempts, error)
            await self._finish(row, FAILED, error=error)
            return
        delay = min(self.max_backoff, 0.5 * 2 ** (attempts - 1)) * random.uniform(0.8, 1.2)
        log.warning("outbox %s: %s; retry in %.1fs", row.id, error, delay)
        await self._retry(row, delay, error, count=True)

    async def _link_in_thread(self, session: AsyncSession, ticket: Ticket) -> None:
        """The reporter cannot be messaged: answer in the grid thread with a deep link."""
        link = f"https://t.me/{self.bot.username}?start=t{ticket.number}"
        extra: dict[str, Any] = {}
        if ticket.source_chat_id == ticket.grid_chat_id:
            extra["reply_parameters"] = {
                "message_id": ticket.source_message_id,
                "allow_sending_without_reply": True,
            }
        assert ticket.grid_chat_id is not None
        await enqueue(
            session,
            key=f"link:{ticket.id}",
            chat_id=ticket.grid_chat_id,
            text=texts.GROUP_ACK_LINK.format(number=ticket.number, link=link),
            purpose="group_ack",
            ticket_id=ticket.id,
            extra=extra,
        )

    async def _undeliverable(self, row: OutboxMessage, error: str) -> None:
        now = self.clock()
        async with self.sessions.begin() as session:
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == row.id)
                .values(status=UNDELIVERABLE, last_error=error, locked_until=None)
            )
            if row.chat_id > 0:
                user = await session.get(User, row.chat_id)
                if user is not None:
                    user.blocked_bot_at = now
            if row.ticket_id is not None:
                ticket = await session.get(Ticket, row.ticket_id)
                if ticket is not None and ticket.reporter_id == row.chat_id:
                    if ticket.grid_chat_id is not None and not ticket.reporter_unreachable:
                        await self._link_in_thread(session, ticket)
                    ticket.reporter_unreachable = True
                    await gate.note(
                        session,
                        ticket,
                        EventKind.UNDELIVERABLE,
                        role=Role.SYSTEM,
                        actor_id=None,
                        note=error,
                        at=now,
                        refresh=False,
                    )
        log.warning("outbox %s undeliverable to %s: %s", row.id, row.chat_id, error)
