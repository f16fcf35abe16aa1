"""What the benches share: databases and Redis keys of their own, the bot on the simulator,
report texts and the grid-group mix, and the instruments (ack clock, SQL counter, profiler).

Every bench builds its stack from here, so a fix to how a bench sets up (a fresh database, the
shared data set, a Redis prefix) reaches them all.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
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

from bench.data import REDIS_URL, data_dir, redis_prefix
from bot.delivery.pacing import Limits
from bot.simulator import BotAPISimulator
from bot.simulator.world import StoredMessage
from nlp import Extractor
from tests.harness import ADMIN_ID, STAFF_CHAT_ID, LocalStack, expect

DATA = data_dir()
PG_ADMIN_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
ACK_MARK = "工单编号："
LIFTED = Limits(per_second=1_000_000, private_interval=0.0, group_per_minute=1_000_000)
PACED = Limits()
REPO = Path(__file__).resolve().parents[1]
PROFILE_REPORTS = 400
GRID_BASE = -1002000000000
USER_BASE = 60_000_000

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



def read_column(name: str, column: str) -> list[str]:
    """Distinct non-empty values of one column of a shared data file."""
    path = DATA / name
    with path.open(encoding="utf-8") as f:
        values = {(r.get(column) or "").strip() for r in csv.DictReader(f)}
    return sorted(v for v in values if v)


@dataclass
class Mix:
    """The message stream: 9 chit-chat : 1 report, each text used once per run if possible."""

    chitchat: list[str]
    reports: list[str]
    rng: random.Random = field(default_factory=lambda: random.Random(7))
    _c: int = 0
    _r: int = 0

    def take(self, count: int) -> list[tuple[str, bool]]:
        """The next `count` (text, is_report_slot) pairs; every 10th is a report slot."""
        out: list[tuple[str, bool]] = []
        for _ in range(count):
            if self.rng.random() < 0.1:
                out.append((self.reports[self._r % len(self.reports)], True))
                self._r += 1
            else:
                out.append((self.chitchat[self._c % len(self.chitchat)], False))
                self._c += 1
        return out


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
        """Wrap this sender instance's `rows.heads` (bench only; no product change)."""
        assert stack.runtime is not None
        sender = stack.runtime.sender
        original: Callable[..., Awaitable[Any]] = sender.rows.heads

        async def timed(*args: Any) -> Any:
            start = time.perf_counter()
            try:
                return await original(*args)
            finally:
                self.durations.append(time.perf_counter() - start)

        sender.rows.heads = timed  # type: ignore[method-assign,assignment]


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
    ("bot/delivery/", "outbox sender (`bot/delivery/`)"),
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


def by_kind(raw: Counter[str]) -> Counter[str]:
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


# --- stacks and people -----------------------------------------------------------------------


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



@contextlib.asynccontextmanager
async def bot_stack(extractor: Extractor, limits: Any) -> AsyncIterator[LocalStack]:
    """A fresh PostgreSQL database, Redis under a fresh prefix, the bot, the staff chat."""
    async with (
        redis_prefix(),
        database("postgres") as url,
        LocalStack(database_url=url, extractor=extractor, limits=limits, redis_url=REDIS_URL)
        as stack,
    ):
        await stack.setup_staff()
        yield stack


def queue_posts(sim: BotAPISimulator, posts: list[tuple[str, bool]], grids: list[int],
                users: list[int]) -> None:
    """Residents post `posts` across the grid groups (queued until the bot reads them)."""
    rng = random.Random(5)
    for text, _ in posts:
        sim.send_text(rng.choice(users), text, chat_id=rng.choice(grids))


def add_grids(sim: BotAPISimulator, groups: int, users: int) -> tuple[list[int], list[int]]:
    """The grid groups and residents, in the simulator."""
    grids = [GRID_BASE - i for i in range(1, groups + 1)]
    for i, chat_id in enumerate(grids):
        sim.add_group(chat_id, f"幸福社区第{i + 1}网格居民群")
    people = list(range(USER_BASE, USER_BASE + users))
    for uid in people:
        sim.add_user(uid, f"居民{uid % 10000}")
    return grids, people


async def bind_grids(sim: BotAPISimulator, grids: list[int]) -> None:
    """An admin binds each group as a grid group; wait until the bot confirmed every one."""
    for i, chat_id in enumerate(grids):
        sim.send_text(ADMIN_ID, f"/bind_grid 幸福社区第{i + 1}网格", chat_id=chat_id)
    for chat_id in grids:
        await expect(sim, chat_id, lambda m: "网格群" in m.get("text", ""), timeout=30)


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
