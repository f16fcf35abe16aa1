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
import base64
import contextlib
import logging
import math
import random
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, column, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram import Bot, InputFile
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.warnings import PTBDeprecationWarning

from bot import texts
from bot.buttons import encode
from bot.errors import IntentError
from bot.intents import (
    ButtonsOff,
    Card,
    CardUpdate,
    Digest,
    DigestEntry,
    Document,
    Earlier,
    Edit,
    GroupAnswer,
    Intent,
    Key,
    Keyboard,
    Kind,
    Location,
    Notice,
    Photo,
    Prompt,
    Removal,
    dumps,
    loads,
)
from bot.metrics import COUNTERS
from bot.services.supervision import unreachable
from storage.chats import move_chat
from storage.coordination.base import Coordinator
from storage.coordination.memory import MemoryCoordinator
from storage.models import BoundChat, OutboxMessage, StaffCard, utcnow

log = logging.getLogger("huiyin.delivery")

PENDING, SENT, FAILED, UNDELIVERABLE = "pending", "sent", "failed", "undeliverable"
BATCH_MAX = 20
TEXT_LIMIT = 4096
DIGEST_MAX = 5  # cards in one digest: their buttons stay under Telegram's 100
HEADS_MAX = 200
MARGIN_STEP = 0.02  # each 429 leaves 2% more of the overall limit unused…
MARGIN_MAX = 0.12  # …up to 12% (26.4/s)…
MARGIN_DECAY = 60.0  # …and each calm minute gives 2% back
_GLOBAL = "pace:global"  # the overall schedule and its places, shared by every instance

# Each waiting chat's oldest row, found by walking the partial index `ix_outbox_waiting` from
# one waiting chat to the next (a loose index scan): one probe per chat, however many rows
# wait in each. The literal 'pending' lets the planner match the partial index.
_HEADS = text(
    """
    WITH RECURSIVE waiting(chat_id) AS (
        SELECT (SELECT min(chat_id) FROM outbox WHERE status = 'pending')
        UNION ALL
        SELECT (SELECT min(o.chat_id) FROM outbox o
                WHERE o.status = 'pending' AND o.chat_id > w.chat_id)
        FROM waiting w WHERE w.chat_id IS NOT NULL
    )
    SELECT (SELECT min(o.id) FROM outbox o
            WHERE o.status = 'pending' AND o.chat_id = w.chat_id) AS head
    FROM waiting w WHERE w.chat_id IS NOT NULL
    """
).columns(column("head", BigInteger))


@dataclass(frozen=True)
class Limits:
    """Telegram's published pacing (overall, per private chat, per group) and our margins."""

    per_second: float = 30
    # Requests leave evenly spaced at the limit: what keeps Telegram from counting more is the
    # arrival guard in `Pacer.turn` (it leaves each request's time on the way unused), so no
    # margin is kept for that. After a 429 the spacing leaves more room (see `Pacer.pause`).
    global_margin: float = 0.0
    private_interval: float = 1.0
    group_per_minute: int = 20
    # 20 per 62 s as sent stays under 20 per minute as received, however late they arrive.
    group_window: float = 62.0
    quiet_per_minute: int = 6  # the bot's own answers in a grid group, batched beyond this
    quiet_window: float = 60.0
    # How long a request with no answer yet may keep its place under the overall limit (a
    # process that dies mid-request leaves its places to expire).
    flight_seconds: float = 10.0

    @property
    def interval(self) -> float:
        """Seconds between two sends from all instances together."""
        return 1.0 / (self.per_second * (1.0 - self.global_margin))


class Pacer:
    """When each chat may receive its next message, kept in the coordinator for all instances."""

    def __init__(self, limits: Limits, coordinator: Coordinator | None = None) -> None:
        self.limits = limits
        self.coordinator = coordinator or MemoryCoordinator()
        self._paused: dict[int, float] = {}
        self._booking = asyncio.Lock()
        self._extra_margin = 0.0
        self._extra_since = 0.0
        self._group_counts: dict[int, int] = {}  # each group's sends (all instances), last looked

    def _windows(self, chat_id: int, quiet: bool) -> list[tuple[str, float, int]]:
        limits, windows = self.limits, []
        if chat_id > 0:
            if limits.private_interval > 0:
                windows.append((f"pace:chat:{chat_id}", limits.private_interval, 1))
        else:
            windows.append((f"pace:group:{chat_id}", limits.group_window, limits.group_per_minute))
        if quiet:
            windows.append((f"pace:quiet:{chat_id}", limits.quiet_window, limits.quiet_per_minute))
        return windows

    async def waits(self, chats: list[tuple[int, bool]], now: float) -> list[float]:
        """Seconds until each (chat, quiet) may receive a message (0 when it may now)."""
        per_chat = [self._windows(chat_id, quiet) for chat_id, quiet in chats]
        flat = [w for windows in per_chat for w in windows]
        found = iter(await self.coordinator.peek_counts(flat))
        if len(self._group_counts) > 10_000:
            self._group_counts = {}
        result = []
        for (chat_id, _), windows in zip(chats, per_chat, strict=True):
            wait = self._paused.get(chat_id, 0.0) - now
            for key, _, _ in windows:
                seconds, count = next(found)
                wait = max(wait, seconds)
                if key.startswith("pace:group:"):
                    self._group_counts[chat_id] = count
            result.append(max(0.0, wait))
        return result

    async def record(self, chat_id: int, *, quiet: bool) -> None:
        """Note a message leaving for `chat_id` now (shared with every instance)."""
        for key, seconds, limit in self._windows(chat_id, quiet):
            await self.coordinator.hit(key, seconds, limit)

    def busy(self, chat_id: int) -> bool:
        """Whether all instances together sent a group half its per-minute ceiling within the
        last window, as of the last `waits` (then new cards share a message rather than queue
        behind the ceiling)."""
        half = max(1, self.limits.group_per_minute // 2)
        return self._group_counts.get(chat_id, 0) >= half

    async def turn(self) -> str | None:
        """Wait for this message's slot under the overall limit (one schedule for every
        instance); return its place, for `landed` once Telegram answers."""
        rate = self.limits.per_second * (1.0 - self.margin())
        interval = 1.0 / rate
        if interval < 1e-4:  # pacing lifted (benchmarks)
            return None
        # Telegram counts a message when it arrives, and requests are delayed on the way by
        # different amounts (a busy machine, a slow network), so even spacing alone cannot keep
        # arrivals under the limit. A message arrives before its answer comes back: so a slot
        # is only given where fewer than the limit (all instances together) are in flight or
        # were answered within the second before it. Then no second of arrivals holds more
        # than the limit, whatever the delays; slow answers only slow the rate.
        limit = max(1, math.floor(self.limits.per_second))
        async with self._booking:  # one booking at a time per instance: no crowd of retries
            while True:
                booking = await self.coordinator.book(
                    _GLOBAL, interval, limit, self.limits.flight_seconds, horizon=1.0
                )
                if booking.token is not None:
                    break
                # Every slot within a second is taken, or held by requests still in flight
                # (free a second after their answer): look again shortly.
                await asyncio.sleep(interval)
        # The wait counts from the coordinator's answer, later than the slot was given: a
        # message never leaves before its slot.
        if booking.wait > 0:
            await asyncio.sleep(booking.wait)
        return booking.token

    async def landed(self, place: str | None, answered_at: float) -> None:
        """Telegram answered the message holding `place` at `answered_at` (loop time): it
        arrived before then, so it counts for one second from then at most."""
        if place is None:
            return
        age = asyncio.get_running_loop().time() - answered_at
        await self.coordinator.settle(_GLOBAL, place, max(1e-6, 1.0 - age))

    def pause(self, chat_id: int, until: float) -> None:
        """Hold a chat until `until` after a 429, and leave more room under the overall limit:
        our own per-chat pacing makes a 429 a sign that requests arrive more bunched than they
        left (a slow network or a busy machine)."""
        self._paused[chat_id] = max(self._paused.get(chat_id, 0.0), until)
        now = asyncio.get_running_loop().time()
        self._extra_margin = min(MARGIN_MAX, self._current_extra(now) + MARGIN_STEP)
        self._extra_since = now

    def _current_extra(self, now: float) -> float:
        calm = max(0.0, now - self._extra_since)
        return max(0.0, self._extra_margin - MARGIN_STEP * calm / MARGIN_DECAY)

    def margin(self) -> float:
        """The share of the overall limit left unused now: the configured margin, plus what
        recent 429s added (it melts away again over calm minutes)."""
        now = asyncio.get_running_loop().time()
        return self.limits.global_margin + self._current_extra(now)


def _quiet(kind: str) -> bool:
    return kind == Kind.GROUP_ANSWER


_NO_BUTTONS: dict[str, Any] = {"inline_keyboard": []}


def _is_card(row: OutboxMessage) -> bool:
    return row.kind == Kind.CARD and row.ticket_id is not None


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


def _markup(buttons: Keyboard) -> dict[str, Any]:
    return {
        "inline_keyboard": [
            [{"text": key.label, "callback_data": encode(key.press)} for key in row]
            for row in buttons
        ]
    }


_POSTS = frozenset({"sendMessage", "sendPhoto", "sendLocation", "sendVenue"})


def _message(chat_id: int, text: str, buttons: Keyboard, reply_to: int | None) -> dict[str, Any]:
    params: dict[str, Any] = {
        "chat_id": chat_id,
        "text": text,
        "link_preview_options": {"is_disabled": True},
    }
    if buttons:
        params["reply_markup"] = _markup(buttons)
    if reply_to is not None:
        params["reply_parameters"] = {"message_id": reply_to, "allow_sending_without_reply": True}
    return params


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _mention_entity(text: str, name: str, user_id: int) -> dict[str, Any] | None:
    """A text_mention entity over the first `name` in `text` (None when it is not there)."""
    at = text.find(name) if name else -1
    if at < 0:
        return None
    return {
        "type": "text_mention",
        "offset": _utf16(text[:at]),
        "length": _utf16(name),
        "user": {"id": user_id, "is_bot": False, "first_name": name},
    }


def post_link(chat_id: int, message_id: int) -> str | None:
    """A link to a post in a supergroup (basic groups have no message links)."""
    digits = str(chat_id)
    if not digits.startswith("-100"):
        return None
    return f"https://t.me/c/{digits[4:]}/{message_id}"


def _batch_answers(params: dict[str, Any], chat_id: int, answers: list[Intent]) -> None:
    """Several answers as one message: it replies to the first answered post, and each line
    links to the post it answers (a message can reply to only one)."""
    params.pop("reply_parameters", None)
    text, first = "", None
    entities: list[dict[str, Any]] = []
    for answer in answers:
        line = getattr(answer, "text", "")
        reply_to: int | None = getattr(answer, "reply_to", None)
        link = None if reply_to is None else post_link(chat_id, reply_to)
        first = first if first is not None or reply_to is None else reply_to
        piece = (text and "\n") + line
        label = texts.BATCH_ANSWER_POST if link else ""
        if _utf16(text + piece + label) + 1 > TEXT_LIMIT:
            break
        text += piece
        if link:
            text += " "
            entities.append(
                {"type": "text_link", "offset": _utf16(text), "length": _utf16(label), "url": link}
            )
            text += label
    params["text"] = text or params["text"][:TEXT_LIMIT]
    if entities:
        params["entities"] = entities
    if first is not None:
        params["reply_parameters"] = {"message_id": first, "allow_sending_without_reply": True}


@dataclass
class Call:
    """One Bot API request, and the digest it rewrites (a card update inside a digest)."""

    method: str
    params: dict[str, Any]
    digest_row: int | None = None
    digest: Digest | None = None


def digest_message(chat_id: int, digest: Digest) -> dict[str, Any]:
    """One message carrying several cards; each ticket's buttons are named by its number."""
    entries = digest.entries
    header = texts.DIGEST_HEADER.format(count=len(entries))
    room = (TEXT_LIMIT - len(header) - len(texts.DIGEST_SEPARATOR) * len(entries)) // len(entries)
    body = texts.DIGEST_SEPARATOR.join(
        e.text if len(e.text) <= room else e.text[: room - 1] + "…" for e in entries
    )
    buttons = tuple(
        tuple(
            Key(texts.DIGEST_BUTTON.format(number=e.title or e.ticket_id, action=k.label), k.press)
            for k in row
        )
        for e in entries
        for row in e.buttons
    )
    return _message(chat_id, header + texts.DIGEST_SEPARATOR + body, buttons, None)


def _mentioning(prompt: Prompt) -> tuple[str, list[dict[str, Any]]]:
    """The prompt's text led by the asked person's name as a mention (a text_mention entity
    reaches people without a username too)."""
    name = prompt.mention_name[:64] or str(prompt.mention_id)
    entity = {
        "type": "text_mention",
        "offset": 0,
        "length": len(name.encode("utf-16-le")) // 2,
        "user": {"id": prompt.mention_id, "is_bot": False, "first_name": name},
    }
    return f"{name}，{prompt.text}", [entity]


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
        rows = await self._heads(now)
        if not rows:
            if self._inflight:  # their chats' next rows become heads when they finish
                await asyncio.wait(self._inflight, return_when=asyncio.FIRST_COMPLETED)
                return 0.0
            return await self._next_due_in(now)
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
        claimed = await self._claim([r.id for r in ready], now)
        for row in (r for r in ready if r.id in claimed):
            followers: list[OutboxMessage] = []
            if self._batches(row):
                followers = await self._claim_followers(row, now, self._batches, BATCH_MAX)
            elif self._digests(row):
                followers = await self._claim_followers(row, now, _is_card, DIGEST_MAX - 1)
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

    async def _claim_followers(
        self,
        head: OutboxMessage,
        now: datetime,
        joins: Callable[[OutboxMessage], bool],
        most: int,
    ) -> list[OutboxMessage]:
        """Rows queued right behind `head` in its chat that go out in the same message."""
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
                    .limit(most)
                )
            ).scalars()
            run: list[OutboxMessage] = []
            for row in queued:
                if not joins(row) or row.next_attempt_at > now or row.thread_id != head.thread_id:
                    break  # a message goes to one forum topic: another topic's rows wait
                run.append(row)
        if not run:
            return []
        claimed = await self._claim([r.id for r in run], now)
        return [r for r in run if r.id in claimed]

    async def _heads(self, now: datetime) -> list[OutboxMessage]:
        """Each waiting chat's oldest row, if it is due and not leased, oldest first."""
        heads = _HEADS.subquery()
        stmt = (
            select(OutboxMessage)
            .where(
                OutboxMessage.id.in_(select(heads.c.head)),
                OutboxMessage.next_attempt_at <= now,
                or_(OutboxMessage.locked_until.is_(None), OutboxMessage.locked_until < now),
            )
            .order_by(OutboxMessage.id)
            .limit(HEADS_MAX)
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

    async def _earlier(self, chat_id: int, target: Earlier) -> int | None:
        """The Telegram id of a message sent before (None if it never went out)."""
        if target.message_id is not None:
            return target.message_id
        async with self.sessions() as session:
            return (
                await session.execute(
                    select(OutboxMessage.message_id).where(
                        OutboxMessage.idempotency_key == target.outbox_key,
                        OutboxMessage.chat_id == chat_id,
                    )
                )
            ).scalar_one_or_none()

    async def _card_message(self, row: OutboxMessage) -> int | None:
        if row.ticket_id is None:
            return None
        async with self.sessions() as session:
            card = await session.get(StaffCard, (row.ticket_id, row.chat_id, row.thread_id))
        return None if card is None else card.message_id

    async def _digest_of(self, chat_id: int, message_id: int) -> OutboxMessage | None:
        """The digest row that sent `message_id`, if that message is a digest."""
        async with self.sessions() as session:
            return (
                await session.execute(
                    select(OutboxMessage).where(
                        OutboxMessage.kind == Kind.DIGEST.value,
                        OutboxMessage.chat_id == chat_id,
                        OutboxMessage.message_id == message_id,
                    )
                )
            ).scalar_one_or_none()

    async def _card_update(self, row: OutboxMessage, intent: CardUpdate) -> Call:
        chat_id = row.chat_id
        message_id = await self._card_message(row)
        if message_id is None:  # the card never arrived: post it now the chat works
            return Call("sendMessage", _message(chat_id, intent.text, intent.buttons, None))
        carrier = await self._digest_of(chat_id, message_id)
        if carrier is not None:
            old = loads(carrier.kind, carrier.payload)
            assert isinstance(old, Digest)
            digest = Digest(
                tuple(
                    DigestEntry(e.ticket_id, intent.text, intent.buttons, intent.title)
                    if e.ticket_id == row.ticket_id
                    else e
                    for e in old.entries
                )
            )
            params = digest_message(chat_id, digest) | {"message_id": message_id}
            return Call("editMessageText", params, carrier.id, digest)
        params = _message(chat_id, intent.text, intent.buttons, None)
        return Call("editMessageText", params | {"message_id": message_id})

    async def _request(self, row: OutboxMessage, intent: Intent) -> Call | None:
        """The Bot API call that carries `intent` (None: the message it acts on never went out)."""
        chat_id = row.chat_id
        reply_to: int | None = getattr(intent, "reply_to", None)
        reply: dict[str, Any] = {}
        if reply_to is not None:
            reply["reply_parameters"] = {
                "message_id": reply_to,
                "allow_sending_without_reply": True,
            }
        match intent:
            case Notice() | GroupAnswer():
                params = _message(chat_id, intent.text, intent.buttons, intent.reply_to)
                if isinstance(intent, Notice) and intent.mention_id is not None:
                    entity = _mention_entity(
                        intent.text, intent.mention_name, intent.mention_id
                    )
                    if entity is not None:
                        params["entities"] = [entity]
                return Call("sendMessage", params)
            case Card():
                return Call("sendMessage", _message(chat_id, intent.text, intent.buttons, None))
            case CardUpdate():
                return await self._card_update(row, intent)
            case Prompt():
                params = _message(chat_id, intent.text, (), intent.reply_to)
                params["reply_markup"] = {"force_reply": True, "selective": intent.selective}
                if intent.placeholder:
                    params["reply_markup"]["input_field_placeholder"] = intent.placeholder[:64]
                if intent.mention_id is not None:
                    params["text"], params["entities"] = _mentioning(intent)
                return Call("sendMessage", params)
            case Photo():
                params = {"chat_id": chat_id, "photo": intent.file_id, "caption": intent.caption}
                return Call("sendPhoto", params | reply)
            case Location():
                params = {
                    "chat_id": chat_id,
                    "latitude": intent.latitude,
                    "longitude": intent.longitude,
                } | reply
                if intent.title:
                    venue = {"title": intent.title, "address": intent.address}
                    return Call("sendVenue", params | venue)
                return Call("sendLocation", params)
            case Document():
                upload = InputFile(base64.b64decode(intent.data), filename=intent.filename)
                params = {"chat_id": chat_id, "document": upload, "caption": intent.caption}
                return Call("sendDocument", params)
            case Edit():
                message_id = await self._earlier(chat_id, intent.target)
                if message_id is None:
                    return None
                params = _message(chat_id, intent.text, intent.buttons, None)
                return Call("editMessageText", params | {"message_id": message_id})
            case ButtonsOff() | Removal():
                message_id = await self._earlier(chat_id, intent.target)
                if message_id is None:
                    return None
                target = {"chat_id": chat_id, "message_id": message_id}
                if isinstance(intent, Removal):
                    return Call("deleteMessage", target)
                return Call("editMessageReplyMarkup", target | {"reply_markup": _NO_BUTTONS})
        raise IntentError(f"no Bot API call for {intent!r}")

    async def _topic(self, row: OutboxMessage) -> int:
        """The forum topic a row goes to: its own, else its group's when the group has one
        binding only (0: none, the group's General)."""
        if row.thread_id:
            return row.thread_id
        async with self.sessions() as session:
            threads = (
                await session.execute(
                    select(BoundChat.thread_id).where(BoundChat.chat_id == row.chat_id).limit(2)
                )
            ).scalars().all()
        return threads[0] if len(threads) == 1 else 0

    async def _send(self, row: OutboxMessage, followers: list[OutboxMessage]) -> None:
        try:
            intent = loads(row.kind, row.payload)
            call = await self._request(row, intent)
            if call is None:
                await self._finish(row, FAILED, error="the message it refers to was not sent")
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
                call.params = digest_message(row.chat_id, call.digest)
            elif followers:
                answers = [intent] + [loads(f.kind, f.payload) for f in followers]
                _batch_answers(call.params, row.chat_id, answers)
            if call.method in _POSTS and row.chat_id < 0 and "reply_parameters" not in call.params:
                # A reply lands in its post's topic; anything else in its row's topic.
                thread = await self._topic(row)
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
            await self._finish(row, FAILED, error=str(exc))
        except RetryAfter as exc:
            COUNTERS.inc("telegram_429")
            retry = retry_seconds(exc)
            self.pacer.pause(row.chat_id, asyncio.get_running_loop().time() + retry)
            await self._retry(row, retry, f"429 retry_after={retry}", count=False)
        except Forbidden as exc:
            await self._refused(row, exc.message)
        except ChatMigrated as exc:
            await self._migrated(row, exc.new_chat_id)
        except BadRequest as exc:
            if _already_done(exc.message):
                await self._finish(row, SENT)
            elif unreachable.is_final(exc.message):
                await self._refused(row, exc.message)
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
            await self._finish(row, SENT, message_id=message_id, method=call.method)
            for follower in followers:
                await self._finish(follower, SENT, message_id=message_id)
            if call.digest is not None and call.digest_row is not None:
                await self._keep_digest(call.digest_row, call.digest)
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
        method: str = "",
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
            is_card = row.kind == Kind.CARD or (
                row.kind == Kind.CARD_UPDATE and method == "sendMessage"
            )
            if status == SENT and is_card and message_id and row.ticket_id:
                card = await session.get(StaffCard, (row.ticket_id, row.chat_id, row.thread_id))
                if card is None:
                    session.add(
                        StaffCard(
                            ticket_id=row.ticket_id,
                            chat_id=row.chat_id,
                            thread_id=row.thread_id,
                            message_id=message_id,
                        )
                    )
                else:
                    card.message_id = message_id

    async def _migrated(self, row: OutboxMessage, new_chat_id: int) -> None:
        """The group became a supergroup: move what is stored about it, this row and the
        other waiting ones included, and send again at once (not a failed attempt)."""
        async with self.sessions.begin() as session:
            await move_chat(session, row.chat_id, new_chat_id)
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == row.id)
                .values(
                    chat_id=new_chat_id,
                    locked_until=None,
                    attempts=OutboxMessage.attempts - 1,
                    last_error=f"group moved to {new_chat_id}",
                )
            )
        log.info("chat %s became supergroup %s; its messages follow", row.chat_id, new_chat_id)
        self.wake()

    async def _keep_digest(self, row_id: int, digest: Digest) -> None:
        """Store what a digest now shows on the row that sent it (later updates rewrite it)."""
        async with self.sessions.begin() as session:
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == row_id)
                .values(kind=Kind.DIGEST.value, payload=dumps(digest))
            )

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

    def _backoff(self, attempts: int) -> float:
        return min(self.max_backoff, 0.5 * 2 ** min(attempts - 1, 30)) * random.uniform(0.8, 1.2)

    async def _network_failure(self, row: OutboxMessage, error: str) -> None:
        attempts = row.attempts + 1
        if attempts >= self.max_network_attempts:
            log.error("outbox %s gave up after %s attempts: %s", row.id, attempts, error)
            await self._finish(row, FAILED, error=error)
            return
        delay = self._backoff(attempts)
        log.warning("outbox %s: %s; retry in %.1fs", row.id, error, delay)
        await self._retry(row, delay, error, count=True)

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
            await self._retry(row, delay, description, count=True)
            return
        async with self.sessions.begin() as session:
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == row.id)
                .values(status=UNDELIVERABLE, last_error=description, locked_until=None)
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
