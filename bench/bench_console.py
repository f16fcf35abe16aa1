"""The console's overview and ranking pages, and the weekly report, over 1,000,000 tickets.

    flock /tmp/huiyin-bench.lock .venv/bin/python -m bench.bench_console [--tickets 1000000]
        [--runs 3] [--write]

Creates a fresh PostgreSQL database next to HUIYIN_BENCH_POSTGRES_URL (default: the test
server), migrates it and loads a year of tickets with COPY (accept events, 回访 answers and
verdicts for the closed ones), builds the statistics rollups from scratch, checks one ranking
against the plain computation, then times real HTTP requests to the console (a signed-in
dispatcher, so every department is in scope) for every period kind and grouping, a page read
right after writes, and one build of the weekly report. ``--write`` puts the figures into
docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import random
import statistics
import time
from datetime import UTC, date, datetime, timedelta

import asyncpg
from aiohttp import ClientSession, CookieJar, web
from aiohttp.test_utils import TestServer

from bench.bench_sweeper import create_database, drop_database, naive
from bench.report import write_section
from bot.deadlines import DeadlinePolicy
from bot.departments import Directory
from bot.indicators import Indicators
from bot.periods import week_of
from bot.services.context import Services
from bot.services.statistics import access, figures, report, rollup, rollup_figures
from bot.services.statistics.facts import load_facts
from bot.web.app import add_console
from bot.workdays import WorkCalendar
from nlp import Extractor
from storage.db import make_engine, make_sessionmaker, upgrade

NOW = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)  # Monday 10:00 Beijing
DEPARTMENTS = [
    "district_cg", "district_zj", "district_rs", "district_hb", "district_jt",
    "street_chaoyang", "community_xingfu", "community_heping",
]  # fmt: skip
CATEGORIES = [
    "城乡建设/城市建设和市政管理/垃圾清运",
    "交通管理/道路交通/信号灯",
    "劳动和社会保障/工资",
]
DISPATCHER = 7


async def load(url: str, count: int) -> float:
    """COPY a year of tickets with their accept events, 回访 and verdicts; return seconds."""
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    started = time.perf_counter()
    rng = random.Random(12)
    try:
        users = 20_000
        await conn.copy_records_to_table(
            "users",
            records=[(i, f"居民{i}", naive(NOW)) for i in range(1, users + 1)],
            columns=["id", "first_name", "created_at"],
        )
        await conn.copy_records_to_table(
            "bound_chats",
            records=[(-999, "staff", "总平台", "", 1, naive(NOW))],
            columns=["chat_id", "kind", "title", "name", "bound_by", "created_at"],
        )
        await conn.copy_records_to_table(
            "staff", records=[(DISPATCHER, "调度员", naive(NOW))],
            columns=["user_id", "display_name", "created_at"],
        )  # fmt: skip
        await conn.copy_records_to_table(
            "department_members",
            records=[(DISPATCHER, "", naive(NOW))],
            columns=["user_id", "department", "created_at"],
        )
        ticket_cols = [
            "id", "number", "reporter_id", "source_chat_id", "source_message_id", "text",
            "category", "intent", "urgency", "urgent_words", "confidence", "status", "accept_by",
            "deadline_at", "resolution_round", "reporter_unreachable", "department",
            "escalations", "supervision", "resolved_at", "overdue_at", "created_at", "updated_at",
        ]  # fmt: skip
        step = 50_000
        for start in range(0, count, step):
            tickets, events, ratings, answers = [], [], [], []
            for i in range(start, min(count, start + step)):
                tid = i + 1
                filed = NOW - timedelta(minutes=rng.randrange(0, 60 * 24 * 364))
                closed = filed < NOW - timedelta(days=10) or rng.random() < 0.3
                resolved = filed + timedelta(hours=rng.randrange(2, 200)) if closed else None
                late = rng.random() < 0.08
                dept = DEPARTMENTS[i % len(DEPARTMENTS)]
                tickets.append((
                    tid, f"B{tid:09d}", 1 + i % users, 1 + i % users, tid, "小区门口垃圾没人清理",
                    CATEGORIES[i % 3], "咨询" if i % 10 == 0 else "投诉", "一般", "", 0.9,
                    "closed" if closed else "accepted", naive(filed + timedelta(days=1)),
                    naive(filed + timedelta(days=7)), 1 if closed else 0, False, dept, 0, 0,
                    naive(resolved) if resolved else None,
                    naive(filed + timedelta(days=7)) if late else None,
                    naive(filed), naive(filed),
                ))  # fmt: skip
                events.append(
                    (tid, "staff", "accept", "new", "accepted", naive(filed + timedelta(hours=3)))
                )
                if resolved is not None:
                    at = resolved + timedelta(hours=rng.randrange(1, 72))
                    unrated = rng.random() < 0.1
                    score = (
                        "unrated"
                        if unrated
                        else rng.choice(["satisfied", "basic", "dissatisfied"])
                    )
                    ratings.append((tid, 1, 1 + i % users, score, naive(at)))
                    if not unrated:
                        solved = rng.choice(["resolved", "partial", "unresolved"])
                        answers.append(
                            (tid, 1, 1 + i % users, rng.random() < 0.9, solved, score,
                             naive(at), naive(at), naive(at))
                        )  # fmt: skip
            await conn.copy_records_to_table("tickets", records=tickets, columns=ticket_cols)
            await conn.copy_records_to_table(
                "ticket_events",
                records=events,
                columns=["ticket_id", "role", "action", "from_status", "to_status", "created_at"],
            )
            await conn.copy_records_to_table(
                "ratings",
                records=ratings,
                columns=["ticket_id", "round", "rater_id", "score", "created_at"],
            )
            await conn.copy_records_to_table(
                "followups",
                records=answers,
                columns=[
                    "ticket_id", "round", "rater_id", "contacted", "solved", "satisfaction",
                    "completed_at", "created_at", "updated_at",
                ],
            )  # fmt: skip
        await conn.execute("SELECT setval('tickets_id_seq', $1)", count)
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return time.perf_counter() - started


async def timed(http: ClientSession, path: str, runs: int, cold: bool = True) -> list[float]:
    """Milliseconds per request (the first, cold, is dropped unless `cold` is False)."""
    out = []
    for _ in range(runs + 1 if cold else 1):
        t0 = time.perf_counter()
        answer = await http.get(path)
        await answer.read()
        assert answer.status == 200, (path, answer.status)
        out.append((time.perf_counter() - t0) * 1000)
    return out[1:] if cold else out


PAGES = [
    ("week", "period=week&at=2026-11-23"),
    ("month", "period=month&at=2026-11-01"),
    ("cycle from the 19th", "period=cycle&at=2026-11-19"),
    ("custom (quarter)", "period=custom&from=2026-09-01&to=2026-11-29"),
    ("custom (a year)", "period=custom&from=2025-12-01&to=2026-11-29"),
]


async def fold_all(services: Services) -> float:
    """Fold every ticket the triggers noted during the load into the rollups; return seconds."""
    t0 = time.perf_counter()
    await rollup.catch_up(services.sessions)
    return time.perf_counter() - t0


async def plain_agrees(services: Services) -> float:
    """Check the rollups against the plain computation for one week's ranking; return seconds."""
    week = week_of(date(2026, 11, 23))
    t0 = time.perf_counter()
    async with services.sessions() as session:
        facts = await load_facts(session, week)
    want = figures.grouped(
        facts, "department", week, services.indicators, services.directory, services.calendar,
        NOW,
    )  # fmt: skip
    plain_s = time.perf_counter() - t0
    (have,) = await rollup_figures.figures_for(services, [week], "department", NOW)
    assert have == want, "the rollups disagree with the plain figures"
    return plain_s


async def run(count: int, write: bool, runs: int) -> None:
    url = await create_database()
    try:
        await upgrade(url)
        load_s = await load(url, count)
        print(f"loaded {count:,} tickets in {load_s:.1f} s", flush=True)
        engine = make_engine(url)
        services = Services(
            sessions=make_sessionmaker(engine),
            extractor=await asyncio.to_thread(Extractor.load),
            calendar=WorkCalendar.load(),
            policy=DeadlinePolicy.load(),
            directory=Directory.load(),
            indicators=dataclasses.replace(Indicators.load(), cycle_start_day=19),
            clock=lambda: NOW,
        )
        fold_s = await fold_all(services)
        print(f"rollups built from scratch in {fold_s:.1f} s", flush=True)
        raw = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
        try:
            await raw.execute("VACUUM ANALYZE")
        finally:
            await raw.close()
        plain_s = await plain_agrees(services)
        print(f"plain ranking (week, department) {plain_s * 1000:.0f} ms; rollups agree")
        async with services.sessions.begin() as session:
            token = await access.issue_link(services, session, DISPATCHER)
        assert token is not None
        app = web.Application()
        add_console(app, services, secret=b"b" * 32, secure_cookies=False)
        server = TestServer(app)
        await server.start_server()
        figures_ms: dict[str, list[float]] = {}
        try:
            base = str(server.make_url("")).rstrip("/")
            async with ClientSession(base_url=base, cookie_jar=CookieJar(unsafe=True)) as http:
                await http.get(f"/login/{token}")
                targets = [
                    (f"overview ({name}, 8-period trend)", f"/?{query}") for name, query in PAGES
                ]
                for name, query in PAGES:
                    for by in figures.GROUPINGS:
                        targets.append(
                            (f"ranking by {by} ({name})", f"/ranking?by={by}&{query}")
                        )
                targets.append(
                    ("department page (month, 8-month trend)",
                     f"/departments/{DEPARTMENTS[0]}?{PAGES[1][1]}")
                )  # fmt: skip
                for name, path in targets:
                    figures_ms[name] = await timed(http, path, runs)
                    print(name, [f"{v:.0f}" for v in figures_ms[name]], flush=True)
                # Right after writes: 1,000 tickets changed, folded in by the next page read.
                dirty = []
                for _ in range(runs):
                    async with engine.begin() as conn:
                        await conn.exec_driver_sql(
                            "UPDATE tickets SET updated_at = updated_at "
                            "WHERE id IN (SELECT id FROM tickets ORDER BY random() LIMIT 1000)"
                        )
                    dirty += await timed(http, f"/?{PAGES[1][1]}", 0, cold=False)
                figures_ms["overview (month) right after 1,000 tickets changed"] = dirty
        finally:
            await server.close()
        t0 = time.perf_counter()
        told = await report.weekly(services, force=True)
        weekly_ms = (time.perf_counter() - t0) * 1000
        print(f"weekly report built and queued for {told} chats in {weekly_ms:.0f} ms")
        await engine.dispose()
        load_avg = " / ".join(f"{v:.1f}" for v in os.getloadavg())
        lines = [
            f"{count:,} tickets over a year (8 departments, ~{count // 52:,} a week), "
            f"PostgreSQL, a dispatcher's session (every department in scope); "
            f"median of {runs} requests after a cold one, whole request as the browser sees it. "
            f"Load average at the end: {load_avg} (2 cores shared with other work).",
            "",
            f"Loading the tickets with COPY: {load_s:.0f} s; building the rollups from scratch "
            f"(every ticket noted by the triggers during the load, folded 5,000 at a time): "
            f"{fold_s:.0f} s. The plain computation of one week's ranking by department took "
            f"{plain_s * 1000:,.0f} ms, and the rollups gave the same figures.",
            "",
            "| page | median | max |",
            "|---|---|---|",
        ]
        for name, values in figures_ms.items():
            lines.append(f"| {name} | {statistics.median(values):.0f} ms | {max(values):.0f} ms |")
        lines.append(
            f"| weekly report (two weeks' figures, Excel, outbox rows) | {weekly_ms:.0f} ms | |"
        )
        lines += [
            "",
            "Target ≤ 300 ms for overview and ranking. Figures are read from the per-day "
            "rollups (docs/STATISTICS.md), plus the tickets still waiting on a deadline; the "
            "overview's trend reads eight periods in one query.",
        ]
        body = "\n".join(lines)
        print(body)
        if write:
            write_section(
                "console",
                "Console pages and the weekly report over 1,000,000 tickets",
                f"flock /tmp/huiyin-bench.lock .venv/bin/python -m bench.bench_console "
                f"--tickets {count} --runs {runs} --write",
                body,
            )
    finally:
        await drop_database(url)


def main() -> None:
    """Run the console benchmark."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    asyncio.run(run(args.tickets, args.write, args.runs))


if __name__ == "__main__":
    main()
