"""Measure the grid-group firehose through the simulator: messages read/s, post → answer latency.

Run: .venv/bin/python -m bench.bench_groups [--messages 6000] [--backends postgres,sqlite]
     [--quick] [--profile]

One process, one event loop, as `huiyin demo` runs it: the Bot API simulator, the real bot (the
intake's poller, getUpdates in batches of 100, silent chatter decided in memory, the rest stored
and handled by workers chat by chat; the outbox sender) and this driver. Several grid groups
are bound; many residents post a 9 : 1 mix of chit-chat
(`dev_chitchat.csv` `text`) and reports (`dev_appeals.csv` `subject`). The bot reads every
message (`bot/services/intake/groups.py` `hear`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import random
import re
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.common import (
    Mix,
    Profiler,
    SqlCounter,
    add_grids,
    bind_grids,
    by_kind,
    code_version,
    database,
    percentile,
    postgres_reachable,
    read_column,
    summarise_profile,
)
from bench.data import REDIS_URL, redis_prefix
from bench.report import log_line, publish
from bot.delivery.pacing import Limits
from bot.intake.chatter import Chatter
from bot.services.context import Person, Services
from bot.services.intake import groups
from bot.simulator.world import StoredMessage
from nlp import Extractor
from tests.harness import LocalStack

PROFILE_MESSAGES = 3000
NUMBER = re.compile(r"\d{8}-\d{4,}")
# Telegram's pacing and the bot's own quiet batching lifted: the bot's capacity, not its manners.
LIFTED = Limits(
    per_second=1_000_000,
    private_interval=0.0,
    group_per_minute=1_000_000,
    quiet_per_minute=1_000_000,
    quiet_window=60.0,
)


# --- inputs ----------------------------------------------------------------------------------


# --- instrumentation -------------------------------------------------------------------------


@dataclass
class Tracker:
    """Stamps each group post when pushed, when `hear` finished it, and when the thread answer
    naming its ticket reached the group (simulator hook and a wrapper on
    `groups.handle_group_text`, bench only). The sender batches answers queued behind each
    other in one group into one message without a reply, so answers are matched by number.
    """

    grids: set[int]
    sent: dict[tuple[int, int], float] = field(default_factory=dict)
    done: list[float] = field(default_factory=list)
    kinds: Counter[str] = field(default_factory=Counter)
    acked: dict[tuple[int, int], float] = field(default_factory=dict)
    pending: dict[int, dict[str, list[tuple[int, int]]]] = field(default_factory=dict)
    tickets: int = 0  # posts `hear` filed (new ticket or merged into one)
    answers: int = 0  # thread answers carrying ticket numbers
    combined: int = 0  # of which several answers batched into one message
    asks: int = 0
    seen: dict[tuple[int, str], float] = field(default_factory=dict)  # first sighting

    def attach_sim(self, stack: LocalStack) -> None:
        """Hook the simulator's 'bot message stored' callback."""
        methods = stack.sim.methods
        original = methods.on_bot_message

        def hook(chat_id: int, stored: StoredMessage) -> None:
            original(chat_id, stored)
            if chat_id not in self.grids or "edit_date" in stored.msg:
                return
            text = stored.msg.get("text") or ""
            if "要反映问题吗" in text:
                self.asks += 1
                return
            if "工单" not in text:
                return
            waiting = self.pending.get(chat_id, {})
            hits = set(NUMBER.findall(text))  # the deep link repeats the number
            now = time.perf_counter()
            for number in hits:
                for key in waiting.pop(number, []):
                    self.acked[key] = now
                self.seen.setdefault((chat_id, number), now)
            self.answers += 1
            self.combined += len(hits) > 1

        methods.on_bot_message = hook

    def attach_handler(self) -> Callable[[], None]:
        """Wrap `groups.handle_group_text` (handlers call it through the module); undo fn."""
        original = groups.handle_group_text

        async def timed(
            services: Services,
            person: Person,
            chat_id: int,
            message_id: int,
            text: str,
            photo: str | None = None,
            reply_to: int | None = None,
        ) -> groups.Heard:
            heard = await original(services, person, chat_id, message_id, text, photo, reply_to)
            if chat_id in self.grids:
                self.done.append(time.perf_counter())
                self.kinds[heard.kind] += 1
                if heard.kind == "ticket" and heard.number:
                    self.tickets += 1
                    key = (chat_id, message_id)
                    early = self.seen.get((chat_id, heard.number))
                    if early is not None and early >= self.sent.get(key, early):
                        # the sender got its answer out before this task resumed after commit
                        self.acked[key] = early
                    else:
                        chat = self.pending.setdefault(chat_id, {})
                        chat.setdefault(heard.number, []).append(key)
            return heard

        groups.handle_group_text = timed
        # Silent chatter is decided by the intake in memory and never reaches the handlers.
        silent_original = Chatter.silent

        def silent(chatter: Chatter, raw: dict[str, Any]) -> bool:
            quiet = silent_original(chatter, raw)
            if quiet and raw.get("message", {}).get("chat", {}).get("id") in self.grids:
                self.done.append(time.perf_counter())
                self.kinds["silent"] += 1
            return quiet

        Chatter.silent = silent  # type: ignore[method-assign,assignment]

        def undo() -> None:
            groups.handle_group_text = original
            Chatter.silent = silent_original  # type: ignore[method-assign]

        return undo

    def latencies_ms(self) -> list[float]:
        """Post → ticket answer in the thread, in milliseconds."""
        return [(t - self.sent[k]) * 1000 for k, t in self.acked.items()]


# --- stack -----------------------------------------------------------------------------------


def redis_for(backend: str) -> str | None:
    """PostgreSQL runs with Redis (as in production), SQLite without."""
    return REDIS_URL if backend == "postgres" else None


@contextlib.asynccontextmanager
async def grid_stack(
    backend: str, extractor: Extractor, group_count: int, user_count: int
) -> AsyncIterator[tuple[LocalStack, list[int], list[int]]]:
    """Fresh database (and Redis db), the real bot, the staff chat and `group_count` grids."""
    redis_url = redis_for(backend)
    async with (
        redis_prefix(),  # keys of this run's own (the stack's settings read it)
        database(backend) as url,
        LocalStack(database_url=url, extractor=extractor, limits=LIFTED,
                   redis_url=redis_url) as stack,
    ):
        await stack.setup_staff()
        grids, users = add_grids(stack.sim, group_count, user_count)
        await bind_grids(stack.sim, grids)
        yield stack, grids, users


def post(
    stack: LocalStack, tracker: Tracker, rng: random.Random, grids: list[int], users: list[int],
    text: str,
) -> None:
    """One resident posts `text` in a random grid group."""
    chat_id = rng.choice(grids)
    msg = stack.sim.send_text(rng.choice(users), text, chat_id=chat_id)
    tracker.sent[(chat_id, msg["message_id"])] = time.perf_counter()


async def warm_up(stack: LocalStack, tracker: Tracker, mix: Mix, grids: list[int],
                  users: list[int]) -> None:
    """A few hundred posts first so pools, caches and compiled SQL are warm."""
    rng = random.Random(3)
    batch = mix.take(300)
    for text, _ in batch:
        post(stack, tracker, rng, grids, users, text)
    await stack.sim.wait_until(lambda: len(tracker.done) >= len(batch), timeout=120)


async def processed_rows(stack: LocalStack) -> int:
    """Updates the inbox holds as handled."""
    from sqlalchemy import text

    assert stack.runtime is not None
    async with stack.runtime.engine.connect() as conn:
        result = await conn.execute(text("select count(*) from inbox where status = 'done'"))
        return int(result.scalar_one())


async def unsent_answers(stack: LocalStack) -> list[str]:
    """Thread answers still in the outbox: `status attempts last_error` of each (diagnostics)."""
    from sqlalchemy import text

    assert stack.runtime is not None
    async with stack.runtime.engine.connect() as conn:
        rows = await conn.execute(text(
            "select status, attempts, last_error, next_attempt_at from outbox "
            "where kind = 'group_answer' and status <> 'sent'"
        ))
        return [" ".join(str(v) for v in row) for row in rows]


# --- phases ----------------------------------------------------------------------------------


@dataclass
class Phase:
    """What one measured run produced."""

    backend: str
    kind: str  # "read" | "latency"
    messages: int
    wall_s: float = 0.0
    rate: float = 0.0
    steady_rate: float = 0.0
    offered_rate: float = 0.0
    cpu_share: float = 0.0
    push_s: float = 0.0
    kinds: Counter[str] = field(default_factory=Counter)
    tickets: int = 0
    answered: int = 0
    answers: int = 0
    combined: int = 0
    asks: int = 0
    acks_out_s: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    rows: int = 0
    statements: Counter[str] = field(default_factory=Counter)
    commits: int = 0
    profile: tuple[list[tuple[str, float]], list[tuple[str, float]], int] | None = None
    profile_rate: float = 0.0
    max_backlog: int = 0  # latency runs: most posts pushed but not yet read


async def measure_read(
    backend: str, extractor: Extractor, mix: Mix, count: int, args: argparse.Namespace,
    *, profile_to: Path | None = None,
) -> Phase:
    """Queue `count` posts while the bot is stopped, start it, time until `hear` did them all."""
    async with grid_stack(backend, extractor, args.groups, args.users) as (stack, grids, users):
        tracker = Tracker(set(grids))
        tracker.attach_sim(stack)
        undo = tracker.attach_handler()
        try:
            await warm_up(stack, tracker, mix, grids, users)
            rows_before = await processed_rows(stack)
            await stack.stop_bot()
            rng = random.Random(5)
            tracker = Tracker(set(grids))
            tracker.attach_sim(stack)
            undo()
            undo = tracker.attach_handler()
            p0 = time.perf_counter()
            batch = mix.take(count)
            for text, _ in batch:
                post(stack, tracker, rng, grids, users, text)
            push = time.perf_counter() - p0
            log_line(f"  {backend} read: {count:,} posts queued in {push:.1f} s; starting the bot")
            profiler = Profiler(profile_to) if profile_to is not None else None
            profiling = profiler.start() if profiler is not None else False
            cpu0, t0 = time.process_time(), time.perf_counter()
            await stack.start_bot()
            sql = SqlCounter()
            sql.attach(stack)
            sql.active = True
            last = t0
            while len(tracker.done) < count:
                with contextlib.suppress(TimeoutError):
                    await stack.sim.wait_until(lambda: len(tracker.done) >= count, timeout=5)
                now = time.perf_counter()
                if now - t0 > 600:
                    raise TimeoutError(f"only {len(tracker.done)}/{count} read after 600 s")
                if now - last >= 5 and len(tracker.done) < count:
                    last = now
                    log_line(f"  {backend} read: {len(tracker.done):,}/{count:,}, "
                             f"{len(tracker.done) / (now - t0):.0f} msg/s")
            done = max(tracker.done)
            cpu = time.process_time() - cpu0
            sql.active = False
            if profiler is not None:
                profiler.stop()
            # every ticket answer out (the sender runs alongside); not part of the read rate
            expected = tracker.tickets
            with contextlib.suppress(TimeoutError):
                await stack.sim.wait_until(lambda: len(tracker.acked) >= expected, timeout=60)
            acks_out = max(tracker.acked.values(), default=t0) - t0
            if len(tracker.acked) < expected:
                stuck = await unsent_answers(stack)
                log_line(f"  {backend} read: {expected - len(tracker.acked)} ticket answers "
                         f"not out after 60 s; outbox: {stuck[:5]}")
            rows = await processed_rows(stack) - rows_before
            ordered = sorted(tracker.done)
            lo, hi = ordered[len(ordered) // 10], ordered[len(ordered) * 9 // 10]
            wall = done - t0
            return Phase(
                backend, "read", count, wall_s=wall, rate=count / wall,
                steady_rate=(len(ordered) * 8 // 10) / max(hi - lo, 1e-9),
                cpu_share=cpu / wall, push_s=push, kinds=tracker.kinds,
                tickets=tracker.tickets, answered=len(tracker.acked), answers=tracker.answers,
                combined=tracker.combined, asks=tracker.asks,
                acks_out_s=acks_out, latencies_ms=tracker.latencies_ms(), rows=rows,
                statements=by_kind(sql.statements), commits=sql.commits,
                profile=summarise_profile(profile_to) if profiling and profile_to else None,
            )
        finally:
            undo()


async def measure_latency(
    backend: str, extractor: Extractor, mix: Mix, rate: float, seconds: float,
    args: argparse.Namespace,
) -> Phase:
    """Post at a steady `rate`/s for `seconds`; time each ticket's answer in its thread."""
    async with grid_stack(backend, extractor, args.groups, args.users) as (stack, grids, users):
        tracker = Tracker(set(grids))
        tracker.attach_sim(stack)
        undo = tracker.attach_handler()
        try:
            await warm_up(stack, tracker, mix, grids, users)
            tracker = Tracker(set(grids))
            tracker.attach_sim(stack)
            undo()
            undo = tracker.attach_handler()
            rng = random.Random(9)
            count = max(1, int(rate * seconds))
            batch = mix.take(count)
            loop = asyncio.get_running_loop()
            cpu0, start = time.process_time(), loop.time()
            last_note = start
            backlog = 0
            for i, (text, _) in enumerate(batch):
                delay = start + i / rate - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                post(stack, tracker, rng, grids, users, text)
                backlog = max(backlog, i + 1 - len(tracker.done))
                if loop.time() - last_note >= 10:
                    last_note = loop.time()
                    lat = tracker.latencies_ms()
                    log_line(f"  {backend} latency: {i + 1:,}/{count:,} posted, "
                             f"{len(tracker.done):,} read, {len(lat)} tickets answered, "
                             f"p50 so far {percentile(lat, 50):.0f} ms")
            offered = count / max(loop.time() - start, 1e-9)
            await stack.sim.wait_until(lambda: len(tracker.done) >= count, timeout=120)
            expected = tracker.tickets
            await stack.sim.wait_until(lambda: len(tracker.acked) >= expected, timeout=60)
            wall = loop.time() - start
            cpu = time.process_time() - cpu0
            return Phase(
                backend, "latency", count, wall_s=wall, offered_rate=offered,
                cpu_share=cpu / wall, kinds=tracker.kinds, tickets=tracker.tickets,
                answered=len(tracker.acked), answers=tracker.answers, combined=tracker.combined,
                asks=tracker.asks, latencies_ms=tracker.latencies_ms(), max_backlog=backlog,
            )
        finally:
            undo()


# --- report ----------------------------------------------------------------------------------


def label(backend: str) -> str:
    """Backend name as shown in the tables."""
    return "PostgreSQL + Redis" if backend == "postgres" else "SQLite, no Redis"


def lat_cells(values: list[float]) -> str:
    """p50 / p99 / max in milliseconds."""
    if not values:
        return "–"
    return (f"{percentile(values, 50):,.0f} / {percentile(values, 99):,.0f} / "
            f"{max(values):,.0f} ms")


def outcome_cell(p: Phase) -> str:
    """What `hear` decided for the measured posts."""
    k = p.kinds
    return (f"{k['ticket']:,} ticket, {k['asked']:,} asked, {k['silent']:,} silent, "
            f"{k['duplicate']:,} duplicate")


def answers_cell(p: Phase) -> str:
    """How the ticket answers went out."""
    return (f"{p.answered:,}/{p.tickets:,} answered in {p.answers:,} messages "
            f"({p.combined:,} batched)")


def render(phases: list[Phase], notes: list[str], args: argparse.Namespace) -> str:
    """The Markdown body of the section."""
    out: list[str] = [
        "Issue 4's group firehose. One process, one event loop, as `huiyin demo` runs it: the "
        "local Bot API simulator, the real bot from `bot/app.py` (PTB long polling — "
        "getUpdates returns at most 100 updates a call — `PerChatProcessor(16)`: chats in "
        f"parallel, each chat in order; the outbox sender) and the driver. {args.groups} grid "
        f"groups are bound (plus the staff chat, which gets a card per ticket); {args.users:,} "
        "residents post a 9 : 1 mix of chit-chat (`dev_chitchat.csv` `text`) and report "
        "candidates (`dev_appeals.csv` `subject`), each to a random grid group. Each run starts "
        "on a fresh, migrated database (PostgreSQL runs with Redis db 14, flushed before and "
        "after; SQLite with the in-process coordinator) after 300 warm-up posts. "
        "Pacing: `Limits(per_second=1e6, private_interval=0, group_per_minute=1e6, "
        "quiet_per_minute=1e6, quiet_window=60)`, i.e. Telegram's limits and the bot's own "
        "quiet batching (6 answers per group per minute by default) lifted, to measure the "
        "bot rather than its politeness.",
        "",
    ]
    out.extend(f"- {n}" for n in notes)
    out.append("")
    reads = [p for p in phases if p.kind == "read"]
    if reads:
        out += [
            "### Sustained read rate, one instance",
            "",
            "The posts are queued in the simulator while the bot is stopped, then the bot is "
            "started and drains them: this is the rate once a backlog exists, with none of the "
            "driver's own pushing in the measured interval. A post counts as read when "
            "`groups.handle_group_text` (→ `hear`) returned for it — after its "
            "`processed_updates` row (written first, own transaction) and its own transaction "
            "(ticket + thread answer + staff card, a question, or nothing). **msg/s overall** = "
            "posts / (bot start → last post read); *steady* = the rate between the 10th and "
            "90th percentile completion (no start-up or tail). *Ticket answers*: posts filed as "
            "tickets whose number reached the group, in how many bot messages (the sender "
            "joins answers queued behind each other in one group into one message), and when "
            "the last one was stored by the simulator (from bot start).",
            "",
            "| backend | posts | read in | **msg/s overall** | msg/s steady | process CPU "
            "(100% = one core) | `processed_updates` rows | what `hear` decided | "
            "ticket answers | queued post → answer p50 / p99 / max (includes the wait in the "
            "backlog) |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for p in reads:
            out.append(
                f"| {label(p.backend)} | {p.messages:,} | {p.wall_s:.1f} s | "
                f"**{p.rate:,.0f}** | {p.steady_rate:,.0f} | {p.cpu_share:.0%} | {p.rows:,} | "
                f"{outcome_cell(p)} | {answers_cell(p)}, last at {p.acks_out_s:.1f} s | "
                f"{lat_cells(p.latencies_ms)} |"
            )
        out.append("")
    lats = [p for p in phases if p.kind == "latency"]
    if lats:
        out += [
            "### Post → ticket answer latency at a steady rate below capacity",
            "",
            "Posts arrive at a fixed rate (a fraction of that backend's measured read rate, "
            "see *offered*; *most posts waiting* shows whether the bot kept up — on a shared "
            "machine it may not). **Latency** is from `sim.send_text` to the simulator storing "
            "the bot's message in that group naming the post's ticket "
            "(\"已登记为工单 <number>…\", \"该问题已在处理中（工单 <number>）…\" for a "
            "merge, possibly batched with other answers), for every post `hear` filed as a "
            "ticket: long polling, the redelivery check, `hear` (extractor, merge search, "
            "ticket, outbox rows), waking the sender, its claim/send/finish round and the HTTP "
            "calls.",
            "",
            "| backend | posts | offered | most posts waiting to be read | process CPU | "
            "what `hear` decided | ticket answers | **post → ticket answer p50 / p99 / max** |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for p in lats:
            out.append(
                f"| {label(p.backend)} | {p.messages:,} | {p.offered_rate:.0f} msg/s | "
                f"{p.max_backlog:,} | {p.cpu_share:.0%} | {outcome_cell(p)} | {answers_cell(p)} | "
                f"**{lat_cells(p.latencies_ms)}** |"
            )
        out.append("")
    sql = [p for p in reads if p.statements]
    if sql:
        out += [
            "### SQL per post (read runs, SQLAlchemy engine events)",
            "",
            "Every statement and top-level commit the bot's engine ran from bot start to the "
            "last post read, divided by the posts (the sender's rows included).",
            "",
            "| per post | " + " | ".join(label(p.backend) for p in sql) + " |",
            "|---" * (len(sql) + 1) + "|",
            "| statements | " + " | ".join(
                f"**{sum(p.statements.values()) / p.messages:.1f}**" for p in sql) + " |",
            "| commits | " + " | ".join(f"**{p.commits / p.messages:.1f}**" for p in sql) + " |",
        ]
        kinds: Counter[str] = Counter()
        for p in sql:
            kinds.update(p.statements)
        for kind, n in kinds.most_common(12):
            if n / max(p.messages for p in sql) < 0.01:
                continue
            out.append(f"| `{kind}` | " + " | ".join(
                f"{p.statements[kind] / p.messages:.2f}" for p in sql) + " |")
        out.append("")
    prof = [p for p in reads if p.profile is not None and p.profile[2] > 0]
    for p in prof:
        assert p.profile is not None
        comps, libs, total = p.profile
        out += [
            f"### Where the time goes: {label(p.backend)} (py-spy, read run)",
            "",
            "`py-spy record --rate 200 --threads` during a separate read run of "
            f"{min(args.messages, PROFILE_MESSAGES):,} posts ({p.profile_rate:.0f} msg/s while "
            f"sampled); {total:,} busy samples of all threads. *By component*: "
            "the innermost frame of our code; *by library*: the leaf-most library frame.",
            "",
            "| by component | share | | by library | share |",
            "|---|---|---|---|---|",
        ]
        for i in range(max(len(comps), len(libs))):
            c = f"{comps[i][0]} | {comps[i][1]:.0%}" if i < len(comps) else " | "
            lib = f"{libs[i][0]} | {libs[i][1]:.0%}" if i < len(libs) else " | "
            out.append(f"| {c} | | {lib} |")
        out.append("")
    return "\n".join(out)


# --- main ------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line flags."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--messages", type=int, default=6000, help="posts per read run")
    ap.add_argument("--backends", default="postgres,sqlite", help="comma list: postgres,sqlite")
    ap.add_argument("--groups", type=int, default=10, help="grid groups")
    ap.add_argument("--users", type=int, default=2000, help="distinct residents")
    ap.add_argument("--load", type=float, default=0.3,
                    help="latency runs post at this fraction of the measured read rate")
    ap.add_argument("--latency-seconds", type=float, default=30.0, help="length of a latency run")
    ap.add_argument("--profile", action="store_true", help="py-spy a separate read run")
    ap.add_argument("--profile-dir", type=Path, default=None,
                    help="keep py-spy's raw stacks here (default: a temporary directory)")
    ap.add_argument("--quick", action="store_true", help="tiny run for a smoke check (no doc)")
    ap.add_argument("--no-write", action="store_true", help="print, do not write the doc")
    return ap.parse_args(argv)


def command_line(args: argparse.Namespace) -> str:
    """The exact command that reproduces this run."""
    parts = [".venv/bin/python -m bench.bench_groups"]
    defaults = parse_args([])
    for name in ("messages", "backends", "groups", "users", "load", "latency_seconds"):
        if getattr(args, name) != getattr(defaults, name):
            parts.append(f"--{name.replace('_', '-')} {getattr(args, name)}")
    if args.profile:
        parts.append("--profile")
    return " ".join(parts)


async def amain(args: argparse.Namespace) -> int:
    """Run every phase on every backend and write the section."""
    logging.basicConfig(level=logging.WARNING)
    if args.quick:
        args.messages, args.latency_seconds, args.users = 600, 8.0, 300
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    notes: list[str] = []
    if "postgres" in backends:
        why = await postgres_reachable()
        if why is not None:
            banner = f"PostgreSQL UNREACHABLE at 127.0.0.1:5432 ({why}): measuring SQLite only"
            print("\n" + "!" * 78 + f"\n!!! {banner}\n" + "!" * 78 + "\n", flush=True)
            notes.append(f"**{banner}.**")
            backends = [b for b in backends if b != "postgres"]
    t_start = time.perf_counter()
    load_before = os.getloadavg()[0]
    log_line("loading the extractor and the texts")
    extractor = await asyncio.to_thread(Extractor.load)
    chitchat = read_column("dev_chitchat.csv", "text")
    reports = read_column("dev_appeals.csv", "subject")
    random.Random(1).shuffle(chitchat)
    random.Random(2).shuffle(reports)
    mix = Mix(chitchat, reports)
    notes.append(
        f"Texts: {len(chitchat):,} distinct chit-chat lines and {len(reports):,} distinct "
        "appeal subjects, shuffled and used in turn (10% of posts are appeal subjects; the "
        "extractor decides what becomes a ticket, a question or nothing, so tickets are fewer "
        "than 10%). Distinct texts keep the flood filter (same text in a chat) out of the way; "
        f"{args.users:,} residents keep everyone far below the 10 reports/hour limit. "
        f"Code measured: {code_version()}."
    )
    phases: list[Phase] = []
    tmp = args.profile_dir or Path(tempfile.mkdtemp(prefix="huiyin-bench-groups-"))
    tmp.mkdir(parents=True, exist_ok=True)
    try:
        for backend in backends:
            log_line(f"{label(backend)}: read rate, {args.messages:,} posts, "
                     f"{args.groups} groups")
            p = await measure_read(backend, extractor, mix, args.messages, args)
            log_line(f"{label(backend)}: {p.rate:.0f} msg/s overall, {p.steady_rate:.0f} "
                     f"steady, CPU {p.cpu_share:.0%}; {outcome_cell(p)}; {answers_cell(p)}")
            phases.append(p)
            if args.profile:
                n = min(args.messages, PROFILE_MESSAGES)
                log_line(f"{label(backend)}: profiling a separate read run of {n:,} posts")
                profiled = await measure_read(backend, extractor, mix, n, args,
                                              profile_to=tmp / f"{backend}.txt")
                p.profile, p.profile_rate = profiled.profile, profiled.rate
        for backend in backends:
            cap = next(p.rate for p in phases if p.backend == backend)
            rate = max(1.0, round(cap * args.load))
            log_line(f"{label(backend)}: latency, {rate:.0f} msg/s for "
                     f"{args.latency_seconds:.0f} s")
            p = await measure_latency(backend, extractor, mix, rate, args.latency_seconds, args)
            log_line(f"{label(backend)}: post → ticket answer {lat_cells(p.latencies_ms)} "
                     f"({p.tickets} tickets)")
            phases.append(p)
    finally:
        if args.profile_dir is None:
            shutil.rmtree(tmp, ignore_errors=True)
    notes.append(
        f"Whole run took {time.perf_counter() - t_start:.0f} s; 1-minute load average "
        f"{load_before:.1f} at the start, {os.getloadavg()[0]:.1f} at the end on "
        f"{os.cpu_count()} cores (other work on the machine slows every figure alike)."
    )
    publish("groups", "Grid-group firehose: messages read, post → ticket answer",
            command_line(args), render(phases, notes, args),
            write=not (args.quick or args.no_write))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point for `python -m bench.bench_groups`."""
    return asyncio.run(amain(parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
