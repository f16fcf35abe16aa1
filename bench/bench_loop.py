"""Measure the resident loop through the simulator: report → acknowledgement latency, reports/s.

Run: .venv/bin/python -m bench.bench_loop [--reports 2000] [--backends sqlite,postgres] [--quick]

Everything runs in one process on one event loop, as `huiyin demo` does: the Bot API simulator,
the real bot (PTB long polling + the outbox sender) and this driver. A report is "acknowledged"
when the simulator stores the bot's message carrying "工单编号：" in the resident's chat, which is
the moment a resident would see it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import logging
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.data import data_dir
from bench.report import log_line, publish
from bot.delivery import Limits
from bot.simulator.world import StoredMessage
from nlp import Extractor
from tests.harness import STAFF_CHAT_ID, LocalStack

DATA = data_dir()
PG_ADMIN_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
ACK_MARK = "工单编号："
LIFTED = Limits(per_second=1_000_000, private_interval=0.0, group_per_minute=1_000_000)
PACED = Limits()
REPO = Path(__file__).resolve().parents[1]
PROFILE_REPORTS = 400

PLACES = ["幸福小区", "阳光花园", "和平里社区", "东风路", "建设街", "滨河家园", "桃园新村"]
PROBLEMS = [
    "{p}{n}栋楼道的灯坏了，晚上一片漆黑，老人上下楼很危险",
    "{p}{n}号楼下水道堵了好几天，污水漫到路面上",
    "{p}门口的路灯坏了一个多月没人修",
    "{p}{n}单元电梯又坏了，住在高层的老人下不了楼",
    "{p}附近工地晚上十二点还在施工，噪音太大睡不着",
    "{p}{n}栋楼顶漏水，家里墙面都发霉了",
    "{p}小区里的垃圾好几天没人清运，臭气熏天",
    "{p}{n}号楼前的井盖丢了，很危险，请尽快处理",
    "{p}停车场被人私装地锁占了消防通道",
    "{p}{n}栋自来水发黄，已经三天了",
    "{p}有人在绿地里乱搭乱建，物业不管",
    "{p}路边的烧烤摊油烟太大，楼上住户窗户都不敢开",
]


def template_texts(rng: random.Random, count: int = 60) -> list[str]:
    """Build varied report texts from templates (the fallback when no data file is present)."""
    return [
        rng.choice(PROBLEMS).format(p=rng.choice(PLACES), n=rng.randint(1, 30))
        for _ in range(count)
    ]


def report_texts(extractor: Extractor, seed: int = 11) -> tuple[list[str], str]:
    """Realistic texts the extractor files as reports, and where they came from."""
    rng = random.Random(seed)
    source = "templates"
    candidates: list[str] = []
    path = DATA / "dev_appeals.csv"
    if path.exists():
        with path.open(encoding="utf-8") as f:
            candidates = [r["subject"].strip() for r in csv.DictReader(f) if r.get("subject")]
        source = f"`dev_appeals.csv` subjects ({len(candidates):,} read)"
    if not candidates:
        candidates = template_texts(rng)
    texts = sorted({t for t in candidates if t and extractor.extract(t).is_report})
    if len(texts) < 20:
        texts = sorted({t for t in template_texts(rng) if extractor.extract(t).is_report})
        source = "templates"
    rng.shuffle(texts)
    return texts, f"{source}, {len(texts):,} that the extractor files as reports"


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of the values."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


# --- databases -------------------------------------------------------------------------------


async def postgres_reachable() -> str | None:
    """None when PostgreSQL answers at 127.0.0.1:5432, else why it does not."""
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(PG_ADMIN_URL)
    try:
        async with asyncio.timeout(5):
            async with engine.connect() as conn:
                await conn.execute(text("select 1"))
        return None
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}".splitlines()[0]
    finally:
        await engine.dispose()


@contextlib.asynccontextmanager
async def database(backend: str) -> AsyncIterator[str]:
    """A fresh, empty database for one phase (temp SQLite file or new PostgreSQL database)."""
    if backend == "sqlite":
        tmp = tempfile.mkdtemp(prefix="huiyin-bench-")
        try:
            yield f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    name = f"huiyin_bench_{uuid.uuid4().hex[:10]}"
    admin = create_async_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
        finally:
            async with admin.connect() as conn:
                await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()


# --- instrumentation -------------------------------------------------------------------------


@dataclass
class AckClock:
    """Stamps when each resident's report was pushed and when its acknowledgement arrived."""

    sent: dict[int, float] = field(default_factory=dict)
    acked: dict[int, float] = field(default_factory=dict)
    cards: list[float] = field(default_factory=list)

    def attach(self, stack: LocalStack) -> None:
        """Hook the simulator's 'bot message stored' callback (bench only; no product change)."""
        methods = stack.sim.methods
        original = methods.on_bot_message

        def hook(chat_id: int, stored: StoredMessage) -> None:
            original(chat_id, stored)
            now = time.perf_counter()
            text = stored.msg.get("text") or ""
            if chat_id == STAFF_CHAT_ID:
                if "edit_date" not in stored.msg and "【工单" in text:
                    self.cards.append(now)
            elif chat_id in self.sent and chat_id not in self.acked and ACK_MARK in text:
                self.acked[chat_id] = now

        methods.on_bot_message = hook

    def latencies_ms(self) -> list[float]:
        """Send → ack in milliseconds for every acknowledged report."""
        return [(self.acked[u] - self.sent[u]) * 1000 for u in self.acked]


@dataclass
class PassTimer:
    """Times the outbox sender's head query (the query each drain pass starts with)."""

    durations: list[float] = field(default_factory=list)

    def attach(self, stack: LocalStack) -> None:
        """Wrap this sender instance's `_heads` (bench only; no product change)."""
        assert stack.runtime is not None
        sender = stack.runtime.sender
        original: Callable[..., Awaitable[Any]] = sender._heads

        async def timed(*args: Any) -> Any:
            start = time.perf_counter()
            try:
                return await original(*args)
            finally:
                self.durations.append(time.perf_counter() - start)

        sender._heads = timed  # type: ignore[method-assign,assignment]


class Profiler:
    """py-spy recording this process (raw collapsed stacks), if py-spy is installed."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.proc: subprocess.Popen[bytes] | None = None
        exe = Path(sys.executable).with_name("py-spy")
        self.exe = str(exe) if exe.exists() else shutil.which("py-spy")

    def start(self) -> bool:
        """Start sampling this process at 200 Hz; False when py-spy is missing."""
        if self.exe is None:
            return False
        cmd = [self.exe, "record", "--pid", str(os.getpid()), "--format", "raw", "--rate", "200",
               "--threads", "--full-filenames", "--output", str(self.out)]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.5)
        return self.proc.poll() is None

    def stop(self) -> None:
        """Stop sampling and let py-spy write its file."""
        if self.proc is None:
            return
        self.proc.send_signal(2)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)


SITE = "site-packages/"
COMPONENTS = [  # by path inside the repository; the innermost frame of ours decides
    ("bot/simulator/", "Bot API simulator (test double in the same process)"),
    ("bench/", "bench driver"),
    ("bot/delivery.py", "outbox sender (`bot/delivery.py`)"),
    ("bot/services/", "report handler (`handlers/` → `bot/services/`, `storage/`)"),
    ("storage/", "report handler (`handlers/` → `bot/services/`, `storage/`)"),
    ("handlers/", "report handler (`handlers/` → `bot/services/`, `storage/`)"),
    ("bot/deadlines.py", "report handler (`handlers/` → `bot/services/`, `storage/`)"),
    ("bot/workdays.py", "report handler (`handlers/` → `bot/services/`, `storage/`)"),
    ("bot/app.py", "update dispatch (`bot/app.py`: redelivery check, per-chat lock)"),
    ("nlp/", "extractor (`nlp/`)"),
]
LIBRARIES = [  # the leaf-most library frame decides
    ("sqlalchemy/", "SQLAlchemy (ORM, SQL compile, rows)"),
    ("asyncpg/", "asyncpg"),
    ("aiosqlite/", "SQLite (aiosqlite worker threads, C)"),
    ("sqlite3/", "SQLite (aiosqlite worker threads, C)"),
    ("telegram/", "python-telegram-bot"),
    ("httpx/", "httpx / httpcore (bot's HTTP client)"),
    ("httpcore/", "httpx / httpcore (bot's HTTP client)"),
    ("h11/", "httpx / httpcore (bot's HTTP client)"),
    ("aiohttp/", "aiohttp (simulator's HTTP server)"),
    ("multidict/", "aiohttp (simulator's HTTP server)"),
    ("yarl/", "aiohttp (simulator's HTTP server)"),
    ("chinese_calendar/", "chinese_calendar (deadlines)"),
    ("/json/", "json"),
    ("/copy.py", "copy.deepcopy"),
    ("/asyncio/", "asyncio event loop"),
    ("/selectors.py", "asyncio event loop"),
]
IDLE_CALLS = (".get()", ".get(block", ".poll(", ".select(", "wait(")


def _frame_path(frame: str) -> tuple[str, int]:
    """Split a py-spy frame `func (path:line)` into path and line."""
    inner = frame.rpartition(" (")[2].rstrip(")")
    path, _, line = inner.rpartition(":")
    return path, int(line) if line.isdigit() else 0


def _is_idle(leaf: str) -> bool:
    """A leaf frame that is a thread waiting (py-spy's idle detection misses some of these)."""
    import linecache

    path, line = _frame_path(leaf)
    source = linecache.getline(path, line) if line else ""
    return any(call in source for call in IDLE_CALLS)


def _component(frames: list[str]) -> str:
    for frame in reversed(frames):
        path, _ = _frame_path(frame)
        if not path.startswith(str(REPO)) or SITE in path:
            continue
        rel = path[len(str(REPO)) + 1 :]
        if rel.startswith("bench/") and frame.split(" (")[0] in ("main", "<module>"):
            continue  # the entry point sits under every event-loop stack
        hit = next((label for key, label in COMPONENTS if rel.startswith(key)), None)
        if hit is not None:
            return hit
    if any("aiosqlite/" in f for f in frames[:6]) and "threading.py" in frames[0]:
        return "SQLite executing statements (aiosqlite worker threads)"
    if frames and _frame_path(frames[0])[0].find("sqlalchemy/") >= 0:
        return "SQLAlchemy in a greenlet (py-spy cannot see which of our calls)"
    return "PTB, HTTP, event loop (no frame of ours on the stack)"


def _library(frames: list[str]) -> str:
    for frame in reversed(frames):
        path, _ = _frame_path(frame)
        if path.startswith(str(REPO)) and SITE not in path:
            return "our own code (leaf frame is ours)"
        hit = next((label for key, label in LIBRARIES if key in path), None)
        if hit is not None:
            return hit
    return "other"


def summarise_profile(path: Path) -> tuple[list[tuple[str, float]], list[tuple[str, float]], int]:
    """Share of busy samples by our component and by library leaf, from a py-spy raw file."""
    by_component: Counter[str] = Counter()
    by_library: Counter[str] = Counter()
    if not path.exists():
        return [], [], 0
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        frames = stack.split(";")[1:]  # the first entry names the thread
        if not frames or _is_idle(frames[-1]):
            continue
        by_component[_component(frames)] += int(count_text)
        by_library[_library(frames)] += int(count_text)
    total = sum(by_component.values())
    if not total:
        return [], [], 0
    shares = [(k, v / total) for k, v in by_component.most_common()]
    libs = [(k, v / total) for k, v in by_library.most_common()]
    return shares, libs, total


@dataclass
class SqlCounter:
    """Counts statements and commits the bot's engine runs (SQLAlchemy events, bench only)."""

    statements: Counter[str] = field(default_factory=Counter)
    commits: int = 0
    active: bool = False

    def attach(self, stack: LocalStack) -> None:
        """Listen on the running bot's engine."""
        from sqlalchemy import event

        assert stack.runtime is not None
        engine = stack.runtime.engine.sync_engine

        def on_execute(*args: Any) -> None:
            if self.active:
                self.statements[args[2]] += 1  # classified later: keep the hook cheap

        def on_commit(*_args: Any) -> None:
            if self.active:
                self.commits += 1

        event.listen(engine, "before_cursor_execute", on_execute)
        event.listen(engine, "commit", on_commit)


def _by_kind(raw: Counter[str]) -> Counter[str]:
    """Fold raw SQL strings into `VERB table` counts."""
    kinds: Counter[str] = Counter()
    for sql, n in raw.items():
        kinds[_statement_kind(sql)] += n
    return kinds


def _statement_kind(sql: str) -> str:
    """`INSERT outbox`, `SELECT tickets`, `SAVEPOINT`… from the SQL text."""
    words = sql.split()
    if not words:
        return "?"
    verb = words[0].upper()
    upper = [w.upper() for w in words]
    target = ""
    for marker in ("INTO", "UPDATE", "FROM"):
        if marker in upper[: 200]:
            i = upper.index(marker)
            if i + 1 < len(words):
                target = words[i + 1].strip('"(').split("(")[0]
                break
    return f"{verb} {target}".strip()


# --- phases ----------------------------------------------------------------------------------


@dataclass
class Phase:
    """What one measured run produced."""

    backend: str
    kind: str
    reports: int
    latencies_ms: list[float]
    wall_s: float = 0.0
    rate: float = 0.0
    steady_rate: float = 0.0
    offered_rate: float = 0.0
    cpu_share: float = 0.0
    cards: int = 0
    cards_all_s: float = 0.0
    limit_hits: int = 0
    heads_ms: tuple[float, float, int] = (0.0, 0.0, 0)
    hit_chats: tuple[int, int] = (0, 0)  # 429s to (private chats, groups)
    statements: Counter[str] = field(default_factory=Counter)
    commits: int = 0
    profile: tuple[list[tuple[str, float]], list[tuple[str, float]], int] | None = None
    profile_rate: float = 0.0


class Users:
    """Hands out fresh resident ids, so no two reports share a private chat."""

    def __init__(self) -> None:
        self.next_id = 50_000_000

    def take(self, stack: LocalStack, count: int) -> list[int]:
        """Register `count` new residents in the simulator."""
        ids = list(range(self.next_id, self.next_id + count))
        self.next_id += count
        for uid in ids:
            stack.sim.add_user(uid, f"居民{uid % 10000}")
        return ids


async def warm_up(stack: LocalStack, users: Users, texts: list[str], count: int = 20) -> None:
    """File a few reports first so pools, caches and compiled SQL are warm."""
    clock = AckClock()
    clock.attach(stack)
    for i, uid in enumerate(users.take(stack, count)):
        clock.sent[uid] = time.perf_counter()
        stack.sim.send_text(uid, texts[i % len(texts)])
    await stack.sim.wait_until(lambda: len(clock.acked) == count, timeout=60)


@contextlib.asynccontextmanager
async def running_stack(
    backend: str, extractor: Extractor, limits: Limits, *, enforce: bool = False
) -> AsyncIterator[LocalStack]:
    """A migrated fresh database, the simulator and the real bot, with the staff chat bound."""
    async with (
        database(backend) as url,
        LocalStack(database_url=url, extractor=extractor, limits=limits,
                   enforce_limits=enforce) as stack,
    ):
        await stack.setup_staff()
        yield stack


async def measure_latency(
    backend: str, extractor: Extractor, texts: list[str], count: int, rate: float
) -> Phase:
    """Send `count` reports from distinct residents at `rate`/s; time each one's ack."""
    async with running_stack(backend, extractor, PACED) as stack:
        users = Users()
        await warm_up(stack, users, texts)
        clock = AckClock()
        clock.attach(stack)
        ids = users.take(stack, count)
        loop = asyncio.get_running_loop()
        start = loop.time()
        last_note = start
        for i, uid in enumerate(ids):
            delay = start + i / rate - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            clock.sent[uid] = time.perf_counter()
            stack.sim.send_text(uid, texts[i % len(texts)])
            if loop.time() - last_note >= 10:
                last_note = loop.time()
                p50 = percentile(clock.latencies_ms(), 50)
                log_line(f"  {backend} latency: {i + 1}/{count} sent, {len(clock.acked)} acked, "
                         f"p50 so far {p50:.1f} ms")
        offered = count / max(loop.time() - start, 1e-9)
        await stack.sim.wait_until(lambda: len(clock.acked) == count, timeout=120)
        check_acks(stack, ids)
        return Phase(backend, "latency", count, clock.latencies_ms(), offered_rate=offered)


def check_acks(stack: LocalStack, ids: list[int]) -> None:
    """Cross-check through the simulator's public view that every resident got one ack."""
    missing = [u for u in ids if not any(ACK_MARK in (m.get("text") or "")
                                         for m in stack.sim.bot_messages(u))]
    if missing:
        raise RuntimeError(f"{len(missing)} residents got no acknowledgement, e.g. {missing[:5]}")


async def measure_throughput(
    backend: str,
    extractor: Extractor,
    texts: list[str],
    count: int,
    *,
    paced: bool,
    profile_to: Path | None = None,
) -> Phase:
    """Push `count` reports at once from distinct residents; time until every ack is out."""
    limits = PACED if paced else LIFTED
    async with running_stack(backend, extractor, limits, enforce=paced) as stack:
        users = Users()
        await warm_up(stack, users, texts)
        clock = AckClock()
        clock.attach(stack)
        heads = PassTimer()
        heads.attach(stack)
        sql = SqlCounter()
        sql.attach(stack)
        sql.active = True
        ids = users.take(stack, count)
        profiler = Profiler(profile_to) if profile_to is not None else None
        profiling = profiler.start() if profiler is not None else False
        hits_before = len(stack.sim.limit_hits)
        cpu0, t0 = time.process_time(), time.perf_counter()
        for i, uid in enumerate(ids):
            clock.sent[uid] = time.perf_counter()
            stack.sim.send_text(uid, texts[i % len(texts)])
            if i % 100 == 99:
                await asyncio.sleep(0)  # let the bot start while the rest is pushed
        pushed = time.perf_counter() - t0
        log_line(f"  {backend} {'paced' if paced else 'lifted'}: {count} reports pushed in "
                 f"{pushed:.2f} s; waiting for acks")

        def progress() -> bool:
            return len(clock.acked) == count

        last = time.perf_counter()
        while not progress():
            with contextlib.suppress(TimeoutError):
                await stack.sim.wait_until(progress, timeout=5)
            if time.perf_counter() - t0 > 600:
                raise TimeoutError(f"only {len(clock.acked)}/{count} acks after 600 s")
            if time.perf_counter() - last >= 5 and not progress():
                last = time.perf_counter()
                rate = len(clock.acked) / (last - t0)
                log_line(f"  {backend}: {len(clock.acked)}/{count} acked, {rate:.0f} reports/s")
        done = max(clock.acked.values())
        cpu = time.process_time() - cpu0
        hits = stack.sim.limit_hits[hits_before:]
        wall = done - t0
        cards_at_last_ack = sum(1 for c in clock.cards if c <= done)
        cards_all = 0.0
        if not paced:
            await stack.sim.wait_until(lambda: len(clock.cards) >= count, timeout=120)
            cards_all = max(clock.cards) - t0
        sql.active = False
        if profiler is not None:
            profiler.stop()
        check_acks(stack, ids)
        acks = sorted(clock.acked.values())
        lo, hi = acks[len(acks) // 10], acks[(len(acks) * 9) // 10]
        steady = (len(acks) * 9 // 10 - len(acks) // 10) / max(hi - lo, 1e-9)
        heads_sorted = sorted(heads.durations)
        return Phase(
            backend,
            "paced" if paced else "lifted",
            count,
            clock.latencies_ms(),
            wall_s=wall,
            rate=count / wall,
            steady_rate=steady,
            cpu_share=cpu / wall,
            cards=cards_at_last_ack,
            cards_all_s=cards_all,
            limit_hits=len(hits),
            hit_chats=(sum(1 for h in hits if h[1] > 0), sum(1 for h in hits if h[1] < 0)),
            statements=_by_kind(sql.statements),
            commits=sql.commits,
            heads_ms=(
                percentile(heads_sorted, 50) * 1000,
                percentile(heads_sorted, 99) * 1000,
                len(heads_sorted),
            ),
            profile=summarise_profile(profile_to) if profiling and profile_to else None,
        )


# --- report ----------------------------------------------------------------------------------


def latency_cells(p: Phase) -> str:
    """p50 / p99 / max of a phase's ack latencies, in milliseconds."""
    lat = p.latencies_ms
    return (f"{percentile(lat, 50):,.1f} / {percentile(lat, 99):,.1f} / "
            f"{max(lat):,.1f} ms")


def render(phases: list[Phase], notes: list[str], args: argparse.Namespace) -> str:
    """The Markdown body of the section."""
    out: list[str] = []
    out.append(
        "One process, one event loop, as `huiyin demo` runs it: the local Bot API simulator "
        "(`bot/simulator`), the real bot from `bot/app.py` (PTB long polling, "
        "`PerChatProcessor(16)`, the outbox sender) and the driver. Each report comes from a "
        "different resident (its own private chat), one staff chat is bound, and every "
        "measured run starts on a fresh, migrated database after 20 warm-up reports. "
        "**Latency** is from `sim.send_text` to the simulator storing the bot's message with "
        "\"工单编号：\" in that resident's chat (what the resident sees); it includes long "
        "polling, the handler's transaction (ticket, event, ack and staff card rows in the "
        "outbox), waking the sender, its claim/send/finish round and the HTTP calls."
    )
    out.append("")
    out.extend(f"- {n}" for n in notes)
    out.append("")
    lat = [p for p in phases if p.kind == "latency"]
    if lat:
        out.append(
            f"### Report → acknowledgement latency (steady {args.rate:g} reports/s, "
            "production pacing)"
        )
        out.append("")
        out.append("| backend | reports | offered rate | ack latency p50 / p99 / max |")
        out.append("|---|---|---|---|")
        for p in lat:
            out.append(f"| {p.backend} | {p.reports:,} | {p.offered_rate:.1f}/s | "
                       f"**{latency_cells(p)}** |")
        out.append("")
    thr = [p for p in phases if p.kind in ("lifted", "paced")]
    if thr:
        out.append("### Sustained reports per second, one instance")
        out.append("")
        out.append(
            "All reports are pushed at once (distinct residents); the rate is reports whose "
            "ack reached the resident, per second of wall time from the first push to the last "
            "ack. *Steady* is the rate between the 10th and the 90th percentile ack (no "
            "warm-up or tail). **Lifted** = `Limits(per_second=1e6, private_interval=0, "
            "group_per_minute=1e6)`: the bot's own capacity, what it could do if Telegram did "
            "not pace it. **Paced** = production `Limits()` (30 msg/s overall, 1/s per "
            "private chat, 20/min per group) with the simulator enforcing Telegram's flood "
            "limits (a 429 would be counted): what one instance delivers in production."
        )
        out.append("")
        out.append(
            "| backend | pacing | reports | all acks out in | reports/s (overall) | "
            "reports/s (steady) | process CPU (100% = one core) | staff cards out by last ack | "
            "ack latency p50 / p99 / max under this load | 429s |"
        )
        out.append("|---|---|---|---|---|---|---|---|---|---|")
        for p in thr:
            cards = f"{p.cards:,}"
            if p.kind == "lifted":
                cards += f" (all {p.reports:,} by {p.cards_all_s:.1f} s)"
            out.append(
                f"| {p.backend} | {p.kind} | {p.reports:,} | {p.wall_s:.1f} s | "
                f"**{p.rate:,.0f}** | {p.steady_rate:,.0f} | {p.cpu_share:.0%} | {cards} | "
                f"{latency_cells(p)} | {p.limit_hits} ({p.hit_chats[0]} private, "
                f"{p.hit_chats[1]} group) |"
            )
        out.append("")
        out.append(
            "Outbox head query (`OutboxSender._heads`, start of every drain pass) during "
            "these runs, p50 / p99 / passes:"
        )
        out.append("")
        out.extend(
            f"- {p.backend} {p.kind}: {p.heads_ms[0]:.1f} / {p.heads_ms[1]:.1f} ms / "
            f"{p.heads_ms[2]:,}"
            for p in thr
        )
        out.append("")
    lifted = [p for p in phases if p.kind == "lifted" and p.statements]
    if lifted:
        out.append("### SQL per report (lifted runs, counted with SQLAlchemy engine events)")
        out.append("")
        out.append(
            "Every statement and top-level commit the bot's engine ran from the first push "
            "until the last staff card was out, divided by the reports (so the outbox "
            "sender's share of 2 messages a report is included)."
        )
        out.append("")
        kinds = Counter[str]()
        for p in lifted:
            kinds.update(p.statements)
        head = " | ".join(p.backend for p in lifted)
        out.append(f"| per report | {head} |")
        out.append("|---" * (len(lifted) + 1) + "|")
        row = " | ".join(f"**{sum(p.statements.values()) / p.reports:.1f}**" for p in lifted)
        out.append(f"| statements | {row} |")
        row = " | ".join(f"**{p.commits / p.reports:.1f}**" for p in lifted)
        out.append(f"| commits | {row} |")
        for kind, _ in kinds.most_common():
            row = " | ".join(f"{p.statements[kind] / p.reports:.2f}" for p in lifted)
            out.append(f"| `{kind}` | {row} |")
        out.append("")
    profiled = [p for p in phases if p.profile is not None and p.profile[2] > 0]
    if profiled:
        out.append("### Where the time goes (py-spy, lifted throughput runs)")
        out.append("")
        out.append(
            "`py-spy record --rate 200 --threads --full-filenames` on the bench process during "
            "a separate lifted run (sampling slows the process, so its rate is not the "
            "figure above), busy samples of all threads (the main event-loop thread and "
            "aiosqlite's worker threads; threads waiting on a queue or in `select` dropped). "
            "*By component*: the innermost frame of our code on the stack; *by library*: "
            "the leaf-most library frame."
        )
        out.append("")
        for p in profiled:
            assert p.profile is not None
            comps, libs, total = p.profile
            out.append(f"**{p.backend}** ({total:,} busy samples; {PROFILE_REPORTS} reports, "
                       f"{p.profile_rate:.0f} reports/s while sampled)")
            out.append("")
            out.append("| by component | share | | by library | share |")
            out.append("|---|---|---|---|---|")
            for i in range(max(len(comps), len(libs))):
                c = f"{comps[i][0]} | {comps[i][1]:.0%}" if i < len(comps) else " | "
                lib = f"{libs[i][0]} | {libs[i][1]:.0%}" if i < len(libs) else " | "
                out.append(f"| {c} | | {lib} |")
            out.append("")
    return "\n".join(out)


def telegram_note(phases: list[Phase]) -> str:
    """What Telegram's limits mean for these figures."""
    return (
        "Telegram's ceiling, not the bot's: each report sends one ack (to the resident) and one "
        "card (to the staff group). The 30 msg/s global limit alone would allow ~15 reports/s "
        "if both counted against it at full speed, but the group limit (20 messages/min per "
        "group) means one staff chat receives at most **one new card every 3 s (0.33 "
        "reports/s)**; acks are not held back by cards (the sender skips a chat that must "
        "wait), so acks run at up to ~30/s while cards queue in the outbox and reach the "
        "staff chat at 20/min. Sustained above 0.33 reports/s, the staff-card backlog grows "
        "without bound with one staff chat."
    )


# --- main ------------------------------------------------------------------------------------


def code_version() -> str:
    """The commit measured, and whether product files differ from it."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, text=True,
                              capture_output=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "bot", "handlers", "nlp",
                                "storage"], cwd=REPO, text=True, capture_output=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return "unknown (no git)"
    return f"`{head}`" + (" with uncommitted product changes" if dirty.strip() else "")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line flags."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--reports", type=int, default=1000, help="reports per lifted run")
    ap.add_argument("--latency-reports", type=int, default=300, help="reports per latency run")
    ap.add_argument("--paced-reports", type=int, default=600, help="reports in the paced run")
    ap.add_argument("--rate", type=float, default=5.0, help="reports/s in the latency runs")
    ap.add_argument("--backends", default="sqlite,postgres", help="comma list: sqlite,postgres")
    ap.add_argument("--quick", action="store_true", help="tiny run for a smoke check (no doc)")
    ap.add_argument("--profile", action="store_true", help="py-spy the lifted runs")
    ap.add_argument("--no-write", action="store_true", help="print, do not write the doc")
    return ap.parse_args(argv)


def command_line(args: argparse.Namespace) -> str:
    """The exact command that reproduces this run."""
    parts = [".venv/bin/python -m bench.bench_loop"]
    defaults = parse_args([])
    for name in ("reports", "latency_reports", "paced_reports", "rate", "backends"):
        if getattr(args, name) != getattr(defaults, name):
            parts.append(f"--{name.replace('_', '-')} {getattr(args, name)}")
    if args.profile:
        parts.append("--profile")
    return " ".join(parts)


async def amain(args: argparse.Namespace) -> int:
    """Run every phase on every backend and write the section."""
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    if args.quick:
        args.reports, args.latency_reports, args.paced_reports, args.rate = 60, 20, 40, 20.0
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
    log_line("loading the extractor")
    extractor = await asyncio.to_thread(Extractor.load)
    texts, source = report_texts(extractor)
    notes.append(f"Report texts: {source}, cycled. Code measured: {code_version()}.")
    log_line(f"texts: {source}")
    phases: list[Phase] = []
    tmp = Path(tempfile.mkdtemp(prefix="huiyin-bench-prof-"))
    try:
        for backend in backends:
            log_line(f"{backend}: latency, {args.latency_reports} reports at {args.rate:g}/s")
            p = await measure_latency(backend, extractor, texts, args.latency_reports, args.rate)
            log_line(f"{backend}: latency p50/p99/max {latency_cells(p)}")
            phases.append(p)
        for backend in backends:
            log_line(f"{backend}: throughput, {args.reports} reports, pacing lifted")
            prof = tmp / f"{backend}.txt" if args.profile else None
            p = await measure_throughput(backend, extractor, texts, args.reports, paced=False)
            log_line(f"{backend}: {p.rate:.0f} reports/s overall, {p.steady_rate:.0f} steady, "
                     f"CPU {p.cpu_share:.0%}")
            phases.append(p)
            if prof is not None:
                n = min(args.reports, PROFILE_REPORTS)
                log_line(f"{backend}: profiling a separate lifted run of {n} reports (py-spy)")
                profiled = await measure_throughput(
                    backend, extractor, texts, n, paced=False, profile_to=prof
                )
                p.profile = profiled.profile
                p.profile_rate = profiled.rate
        backend = backends[0]
        log_line(f"{backend}: throughput, {args.paced_reports} reports, production pacing")
        p = await measure_throughput(backend, extractor, texts, args.paced_reports, paced=True)
        log_line(f"{backend} paced: {p.rate:.1f} reports/s, {p.limit_hits} 429s")
        phases.append(p)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    notes.append(telegram_note(phases))
    notes.append(f"Whole run took {time.perf_counter() - t_start:.0f} s.")
    publish("loop", "Resident loop: report → acknowledgement", command_line(args),
            render(phases, notes, args), write=not (args.quick or args.no_write))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point for `python -m bench.bench_loop`."""
    return asyncio.run(amain(parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
