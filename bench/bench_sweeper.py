"""Sweeper pass over 1,000,000 open tickets on PostgreSQL, and the time to route and post a ticket.

    .venv/bin/python -m bench.bench_sweeper [--tickets 1000000] [--due 2000] [--write]

Creates a fresh database next to HUIYIN_BENCH_POSTGRES_URL (default: the test server), migrates
it, loads the tickets with COPY, then measures: the due query's plan (EXPLAIN ANALYZE, which
must use ix_tickets_next_due), a pass with nothing due, a pass with ``--due`` tickets due (催办
and 督办 with their outbox rows), and filing a new ticket end to end (extract, route, number,
insert, audit row, acknowledgement and card in the outbox). ``--write`` puts the figures into
docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bench.report import write_section
from bot.deadlines import DeadlinePolicy
from bot.departments import Directory
from bot.services.context import Person, Services
from bot.services.intake import reports
from bot.services.supervision import sweeper
from bot.workdays import WorkCalendar
from nlp import Extractor
from storage.db import make_engine, make_sessionmaker, upgrade

ADMIN_URL = os.environ.get(
    "HUIYIN_BENCH_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
DEPARTMENTS = ["district_cg", "district_zj", "district_rs", "district_hb", "district_jt"]
REPORTS = [
    "小区门口垃圾堆了好几天没人清理，臭气熏天",
    "公司拖欠我三个月工资不给，老板跑了",
    "楼下饭店油烟太大噪音扰民，晚上睡不着",
    "光明路路灯坏了好几天了，晚上很黑",
    "我们村的耕地被非法占用盖房子了，没人管",
]


async def create_database() -> str:
    name = f"huiyin_bench_{uuid.uuid4().hex[:8]}"
    admin = create_async_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    await admin.dispose()
    return ADMIN_URL.rsplit("/", 1)[0] + "/" + name


async def drop_database(url: str) -> None:
    admin = create_async_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
    await admin.dispose()


def naive(dt: datetime) -> datetime:
    return dt.astimezone(UTC).replace(tzinfo=None)


async def load(url: str, count: int, due: int) -> float:
    """COPY `count` open tickets (`due` of them due now) and their reporters; return seconds."""
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    started = time.perf_counter()
    try:
        users = 10_000
        await conn.copy_records_to_table(
            "users",
            records=[(i, f"居民{i}", None, naive(NOW), naive(NOW)) for i in range(1, users + 1)],
            columns=["id", "first_name", "username", "started_at", "created_at"],
        )
        chats = [
            (-1000 - i, "staff", f"{d}群", d, 1, naive(NOW)) for i, d in enumerate(DEPARTMENTS)
        ]
        chats.append((-999, "staff", "总平台", "", 1, naive(NOW)))
        await conn.copy_records_to_table(
            "bound_chats",
            records=chats,
            columns=["chat_id", "kind", "title", "name", "bound_by", "created_at"],
        )
        rng = random.Random(5)
        columns = [
            "number", "reporter_id", "source_chat_id", "source_message_id", "text", "category",
            "intent", "urgency", "urgent_words", "confidence", "status", "accept_by",
            "deadline_at", "resolution_round", "reporter_unreachable", "department",
            "department_name", "escalations", "supervision", "due_kind", "next_due_at",
            "remind_at", "escalate_at", "created_at", "updated_at",
        ]  # fmt: skip

        def rows(start: int, stop: int) -> list[tuple[object, ...]]:
            out: list[tuple[object, ...]] = []
            for i in range(start, stop):
                created = NOW - timedelta(minutes=rng.randrange(0, 60 * 24 * 20))
                if i < due:
                    next_due = NOW - timedelta(seconds=rng.randrange(1, 3600))
                else:
                    next_due = NOW + timedelta(minutes=rng.randrange(1, 60 * 24 * 30))
                deadline = next_due + timedelta(days=1)
                dept = DEPARTMENTS[i % len(DEPARTMENTS)]
                out.append(
                    (
                        f"B{i:09d}", 1 + i % users, 1 + i % users, i, "小区门口垃圾没人清理",
                        "城乡建设/城市建设和市政管理/垃圾清运", "投诉", "一般", "", 0.9,
                        "accepted" if i % 2 else "new", naive(created), naive(deadline), 0,
                        False, dept, dept, 0, 0, "remind", naive(next_due), naive(next_due),
                        naive(deadline + timedelta(days=2)), naive(created), naive(created),
                    )
                )  # fmt: skip
            return out

        step = 100_000
        for start in range(0, count, step):
            await conn.copy_records_to_table(
                "tickets", records=rows(start, min(count, start + step)), columns=columns
            )
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return time.perf_counter() - started


async def explain(url: str, now: datetime) -> str:
    engine = make_engine(url)
    async with engine.connect() as conn:
        sql = str(
            sweeper.due_query(now, 200).compile(engine, compile_kwargs={"literal_binds": True})
        )
        plan = await conn.execute(text("EXPLAIN (ANALYZE, BUFFERS) " + sql))
        lines = [r[0] for r in plan.all()]
    await engine.dispose()
    return "\n".join(lines)


async def run(count: int, due: int, write: bool, filings: int) -> None:
    url = await create_database()
    try:
        await upgrade(url)
        load_s = await load(url, count, due)
        print(f"loaded {count:,} open tickets in {load_s:.1f} s")
        plan = await explain(url, NOW)
        print(plan)
        assert "ix_tickets_next_due" in plan, "the due query does not use its index"

        engine = make_engine(url)
        extractor = await asyncio.to_thread(Extractor.load)
        clock = {"now": NOW - timedelta(hours=2)}
        services = Services(
            sessions=make_sessionmaker(engine),
            extractor=extractor,
            calendar=WorkCalendar.load(),
            policy=DeadlinePolicy.load(),
            directory=Directory.load(),
            clock=lambda: clock["now"],
        )
        t0 = time.perf_counter()
        idle = await sweeper.sweep(services)
        idle_ms = (time.perf_counter() - t0) * 1000
        assert not idle, idle
        clock["now"] = NOW
        t0 = time.perf_counter()
        done = await sweeper.sweep(services)
        busy_s = time.perf_counter() - t0
        print(f"idle pass {idle_ms:.1f} ms; pass with {due} due: {busy_s:.2f} s {dict(done)}")
        t0 = time.perf_counter()
        again = await sweeper.sweep(services)
        again_ms = (time.perf_counter() - t0) * 1000
        assert not again

        route_n = 100_000
        directory = services.directory
        t0 = time.perf_counter()
        for i in range(route_n):
            directory.route("城乡建设/城市建设和市政管理/垃圾清运" if i % 2 else "农村农业/土地")
        route_us = (time.perf_counter() - t0) / route_n * 1e6

        timings = []
        for i in range(filings):
            person = Person(id=50_000 + i, first_name="张阿姨")
            t0 = time.perf_counter()
            outcome = await reports.handle_private_text(
                services, person, 10_000_000 + i, REPORTS[i % len(REPORTS)]
            )
            timings.append((time.perf_counter() - t0) * 1000)
            assert outcome.kind == "ticket", outcome
        await engine.dispose()
        med = statistics.median(timings)
        p95 = statistics.quantiles(timings, n=20)[-1]
        print(f"route {route_us:.2f} µs; file+route+post median {med:.1f} ms, p95 {p95:.1f} ms")

        busy = f"{busy_s:.2f} s ({due / busy_s:,.0f} tickets/s)"
        filed = f"median {med:.1f} ms, p95 {p95:.1f} ms ({filings} reports)"
        index_line = next(line for line in plan.splitlines() if "ix_tickets_next_due" in line)
        body = f"""
{count:,} open tickets (`accepted`/`new`, five departments) loaded with COPY in {load_s:.0f} s,
{due:,} of them due; PostgreSQL on the same machine.

| measure | figure |
|---|---|
| sweeper pass, nothing due (`next_due_at <= now`, LIMIT 200) | {idle_ms:.1f} ms |
| sweeper pass, {due:,} due (催办 + audit row + outbox row each) | {busy} |
| the same pass again (nothing left: idempotent) | {again_ms:.1f} ms |
| `Directory.route(category)` | {route_us:.2f} µs |
| file a report end to end: extract, route, number, insert, audit, ack + card | {filed} |

The due query uses the index (`EXPLAIN ANALYZE`, first pass):

```
{index_line.strip()}
```
Steps done in the busy pass: `{dict(done)}`.
"""
        if write:
            write_section(
                "sweeper",
                "Sweeper over 1,000,000 open tickets; route and post a new ticket",
                f"python -m bench.bench_sweeper --tickets {count} --due {due} --write",
                body,
            )
    finally:
        await drop_database(url)


def main() -> None:
    """Parse arguments and run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=2_000)
    parser.add_argument("--filings", type=int, default=200)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    asyncio.run(run(args.tickets, args.due, args.write, args.filings))


if __name__ == "__main__":
    main()
