"""Measure the intake: grid-group messages read and decided per second (with PTB's own ceiling
in the same run), report → acknowledgement latency, reports/s with pacing lifted, and the
statements and commits each report costs.

Run: ./dev bench intake [--messages 20000] [--latency-reports 300] [--rate 5]
     [--reports 1000] [--quick] [--no-write]

One process, one event loop: the Bot API simulator, the real bot (`bot/app.py`: the intake's
poller and workers, the outbox sender) on a fresh PostgreSQL database of its own and Redis
under a key prefix of its own, and this driver.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.common import (
    LIFTED,
    PACED,
    AckClock,
    Mix,
    SqlCounter,
    Users,
    add_grids,
    bind_grids,
    bot_stack,
    by_kind,
    code_version,
    percentile,
    postgres_reachable,
    queue_posts,
    read_column,
    report_texts,
)
from bench.report import log_line, publish
from bot.simulator import BotAPISimulator
from nlp import Extractor
from tests.harness import LocalStack

# --- grid groups: read and decided -------------------------------------------------------------


@dataclass
class ReadRun:
    """One drain of a queued backlog of grid-group posts."""

    messages: int
    stored_s: float = 0.0
    done_s: float = 0.0
    cpu_share: float = 0.0
    chatter: int = 0
    handled: int = 0
    tickets: int = 0
    ptb_s: float = 0.0  # the better of the two PTB runs (before and after huiyin's)
    ptb_cpu_share: float = 0.0
    ptb_runs: list[tuple[float, float]] = field(default_factory=list)  # (seconds, CPU share)
    read_cpu_s: float = 0.0  # process CPU while reading and deciding
    statements: Counter[str] = field(default_factory=Counter)
    commits: int = 0
    store_s: float = 0.0
    batches: int = 0
    load: tuple[float, float] = (0.0, 0.0)  # 1-minute load average at start and end


@dataclass
class StoreTimer:
    """Time spent in `Intake.store` (decide + one transaction per batch), bench only."""

    total: float = 0.0
    calls: int = 0

    def attach(self, intake: Any) -> None:
        """Wrap this intake instance's `store`."""
        original = intake.store

        async def timed(updates: Any) -> int:
            start = time.perf_counter()
            try:
                return int(await original(updates))
            finally:
                self.total += time.perf_counter() - start
                self.calls += 1

        intake.store = timed


async def ptb_ceiling(
    posts: list[tuple[str, bool]], groups: int, users: int
) -> tuple[float, float]:
    """PTB alone: its Updater reads the same backlog, deserialises each update and dispatches it
    to one handler that only counts. Return (seconds, CPU share)."""
    from telegram import Update
    from telegram.ext import ApplicationBuilder, TypeHandler

    sim = BotAPISimulator()
    await sim.start()
    grids, people = add_grids(sim, groups, users)
    queue_posts(sim, posts, grids, people)
    seen = 0
    done = asyncio.Event()

    async def count(_update: Update, _context: Any) -> None:
        nonlocal seen
        seen += 1
        if seen >= len(posts):
            done.set()

    app = (
        ApplicationBuilder().token(sim.token).base_url(f"{sim.root_url}/bot")
        .base_file_url(f"{sim.root_url}/file/bot").build()
    )
    app.add_handler(TypeHandler(Update, count))
    try:
        await app.initialize()
        await app.start()
        cpu0, t0 = time.process_time(), time.perf_counter()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0.0, timeout=10)
        await asyncio.wait_for(done.wait(), 600)
        wall = time.perf_counter() - t0
        cpu = time.process_time() - cpu0
        await app.updater.stop()
        await app.stop()
        await app.shutdown()
    finally:
        await sim.stop()
    return wall, cpu / wall


async def measure_read(extractor: Extractor, mix: Mix, args: argparse.Namespace) -> ReadRun:
    """Queue `args.messages` posts while the bot is stopped, start it, time the drain; PTB's
    ceiling on the same backlog just before and just after."""
    warm = mix.take(500)
    posts = mix.take(args.messages)
    log_line("  read: the PTB-only ceiling on the same backlog (before)")
    ptb_runs = [await ptb_ceiling(posts, args.groups, args.users)]
    async with bot_stack(extractor, LIFTED) as stack:
        sim = stack.sim
        grids, people = add_grids(sim, args.groups, args.users)
        await bind_grids(sim, grids)
        assert stack.runtime is not None
        runtime = stack.runtime
        base = runtime.intake.chatter_count + runtime.worker.handled
        queue_posts(sim, warm, grids, people)
        await sim.wait_until(
            lambda: runtime.intake.chatter_count + runtime.worker.handled >= base + len(warm),
            timeout=120,
        )
        await stack.stop_bot()
        queue_posts(sim, posts, grids, people)
        log_line(f"  read: {len(posts):,} posts queued; starting the bot")
        cpu0, t0 = time.process_time(), time.perf_counter()
        runtime = await stack.start_bot()
        store_timer = StoreTimer()
        store_timer.attach(runtime.intake)
        sql = SqlCounter()
        sql.attach(stack)
        sql.active = True
        run = ReadRun(len(posts))
        last = t0
        while True:
            stored = runtime.intake.stored + runtime.intake.chatter_count
            decided = runtime.intake.chatter_count + runtime.worker.handled
            now = time.perf_counter()
            if stored >= len(posts) and not run.stored_s:
                run.stored_s = now - t0
                run.read_cpu_s = time.process_time() - cpu0
            if decided >= len(posts):
                run.done_s = now - t0
                break
            if now - t0 > 600:
                raise TimeoutError(f"only {decided}/{len(posts)} decided after 600 s")
            if now - last > 5:
                last = now
                log_line(f"  read: {stored:,} stored, {decided:,} decided")
            await asyncio.sleep(0.005)
        run.cpu_share = (time.process_time() - cpu0) / run.done_s
        sql.active = False
        run.store_s, run.batches = store_timer.total, store_timer.calls
        run.chatter = runtime.intake.chatter_count
        run.handled = runtime.worker.handled
        run.tickets = sum(1 for t, is_report in posts if is_report)
        run.statements, run.commits = by_kind(sql.statements), sql.commits
    log_line("  read: the PTB-only ceiling on the same backlog (after)")
    ptb_runs.append(await ptb_ceiling(posts, args.groups, args.users))
    run.ptb_runs = ptb_runs
    run.ptb_s, run.ptb_cpu_share = min(ptb_runs)
    return run


# --- private reports: latency, throughput, cost -------------------------------------------------


@dataclass
class ReportRun:
    """Reports from distinct residents, and their acknowledgements."""

    kind: str
    reports: int
    latencies_ms: list[float]
    offered: float = 0.0
    wall_s: float = 0.0
    cpu_share: float = 0.0
    statements: Counter[str] = field(default_factory=Counter)
    commits: int = 0
    load: tuple[float, float] = (0.0, 0.0)  # 1-minute load average at start and end


async def warm(stack: LocalStack, users: Users, texts: list[str]) -> None:
    """Twenty reports first: pools, caches and compiled statements warm."""
    clock = AckClock()
    clock.attach(stack)
    for i, uid in enumerate(users.take(stack, 20)):
        clock.sent[uid] = time.perf_counter()
        stack.sim.send_text(uid, texts[i % len(texts)])
    await stack.sim.wait_until(lambda: len(clock.acked) == 20, timeout=60)


async def measure_reports(
    extractor: Extractor, texts: list[str], count: int, rate: float | None
) -> ReportRun:
    """`count` reports at `rate`/s (production pacing), or all at once with pacing lifted."""
    async with bot_stack(extractor, PACED if rate else LIFTED) as stack:
        users = Users()
        await warm(stack, users, texts)
        clock = AckClock()
        clock.attach(stack)
        sql = SqlCounter()
        sql.attach(stack)
        ids = users.take(stack, count)
        loop = asyncio.get_running_loop()
        sql.active = True
        cpu0, t0, start = time.process_time(), time.perf_counter(), loop.time()
        for i, uid in enumerate(ids):
            if rate:
                delay = start + i / rate - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
            elif i % 100 == 99:
                await asyncio.sleep(0)
            clock.sent[uid] = time.perf_counter()
            stack.sim.send_text(uid, texts[i % len(texts)])
        offered = count / max(loop.time() - start, 1e-9)
        await stack.sim.wait_until(lambda: len(clock.acked) == count, timeout=600)
        wall = max(clock.acked.values()) - t0
        cpu = time.process_time() - cpu0
        if not rate:  # let the staff cards out too, so per-report costs include them
            with contextlib.suppress(TimeoutError):
                await stack.sim.wait_until(lambda: len(clock.cards) >= count, timeout=120)
        sql.active = False
        return ReportRun(
            "latency" if rate else "lifted", count, clock.latencies_ms(), offered=offered,
            wall_s=wall, cpu_share=cpu / wall, statements=by_kind(sql.statements),
            commits=sql.commits,
        )


def figures(run: ReportRun) -> dict[str, Any]:
    """One report run's figures, as `--json` writes them (for `bench.bench_report`)."""
    lat, per = run.latencies_ms, max(run.reports, 1)
    return {
        "kind": run.kind,
        "reports": run.reports,
        "p50": percentile(lat, 50),
        "p99": percentile(lat, 99),
        "max": max(lat),
        "rate": run.reports / run.wall_s,
        "cpu": run.cpu_share,
        "statements": sum(run.statements.values()) / per,
        "commits": run.commits / per,
        "load": list(run.load),
        "by_kind": {k: v / per for k, v in run.statements.most_common()},
    }


# --- report -------------------------------------------------------------------------------------


def render(read: ReadRun | None, runs: list[ReportRun], args: argparse.Namespace,
           notes: list[str]) -> str:
    """The Markdown body of this bench's section."""
    out = [
        "PostgreSQL (a fresh database per run) + Redis (a key prefix per run), one bot process "
        "with the simulator and the driver on one event loop, so every figure includes the "
        "simulator's own work. Compare figures of one run with each other (the machine is "
        "shared and noisy).",
        "",
    ]
    if read is not None:
        n = read.messages
        out += [
            "### Grid-group messages read and decided, one instance",
            "",
            f"{n:,} posts ({args.groups} grid groups, {args.users} residents, 9 chit-chat "
            "(`dev_chitchat.csv` `text`) : 1 report (`dev_appeals.csv` `subject`)) are queued "
            "while the bot is stopped; then it drains them with getUpdates batches of 100. "
            "*Read and decided* = every update either decided in memory as silent chatter (never "
            "stored: deciding it again after a crash has no effect) or stored in the inbox for "
            "the full path; *handled* = chatter decided plus every other post through the "
            "handlers (tickets, questions, silence). "
            "The PTB-only ceiling is PTB's own Updater reading the same backlog from a fresh "
            "simulator, deserialising every update and dispatching it to one handler that only "
            "counts; it runs just before and just after huiyin's drain, and the better of the "
            "two is the ceiling. While the poller reads full batches (a backlog), the worker "
            "takes on no new chat for up to 5 s, so reading and storing comes first; the "
            "*handled* row includes all the handling.",
            "",
            f"Load average (1 min) on the shared machine: {read.load[0]:.1f} at the start, "
            f"{read.load[1]:.1f} at the end.",
            "",
            "| | time | **messages/s** | of PTB's ceiling | process CPU (100% = one core) "
            "| messages per CPU-second |",
            "|---|---|---|---|---|---|",
            f"| huiyin: read and decided | {read.stored_s:.2f} s | "
            f"**{n / read.stored_s:,.0f}** | **{read.ptb_s / read.stored_s:.0%}** | "
            f"{read.read_cpu_s / read.stored_s:.0%} | {n / max(read.read_cpu_s, 1e-9):,.0f} |",
            f"| huiyin: handled (every post through its path) | {read.done_s:.2f} s | "
            f"{n / read.done_s:,.0f} | {read.ptb_s / read.done_s:.0%} | {read.cpu_share:.0%} "
            f"| {n / max(read.cpu_share * read.done_s, 1e-9):,.0f} |",
        ]
        for label, (wall, share) in zip(("before", "after"), read.ptb_runs, strict=False):
            out.append(
                f"| PTB alone, no handler work ({label}) | {wall:.2f} s | {n / wall:,.0f} | "
                f"{read.ptb_s / wall:.0%} | {share:.0%} | {n / max(wall * share, 1e-9):,.0f} |"
            )
        out += [
            "",
            f"Time inside the store step (decide the batch in memory; store what is not "
            f"chatter: one statement that commits itself, or insert + claim in one transaction "
            f"when this worker takes it on at once): {read.store_s:.2f} s over {read.batches} "
            f"batches "
            f"({read.store_s / max(read.batches, 1) * 1000:.1f} ms a batch, "
            f"{n / max(read.store_s, 1e-9):,.0f} posts/s of store step alone). "
            f"Decided in memory as chatter: {read.chatter:,}; through the handlers: "
            f"{read.handled:,}. Statements during the drain: {sum(read.statements.values()):,} "
            f"({sum(read.statements.values()) / n:.2f} per post), commits {read.commits:,} "
            f"({read.commits / n:.3f} per post); by kind: "
            + ", ".join(f"{k} {v:,}" for k, v in read.statements.most_common(8)) + ".",
            "",
        ]
    for run in runs:
        lat = run.latencies_ms
        per = max(run.reports, 1)
        title = (
            f"### Report → acknowledgement at {run.offered:.1f} reports/s (production pacing)"
            if run.kind == "latency"
            else "### Reports/s with Telegram's pacing lifted, and what each report costs"
        )
        out += [
            title,
            "",
            "| reports | acks p50 / p99 / max | reports/s (first push → last ack) | process CPU "
            "| statements per report | commits per report | load average (1 min) |",
            "|---|---|---|---|---|---|---|",
            f"| {run.reports} | **{percentile(lat, 50):.1f} / {percentile(lat, 99):.1f} / "
            f"{max(lat):.1f} ms** | {run.reports / run.wall_s:,.0f} | {run.cpu_share:.0%} | "
            f"**{sum(run.statements.values()) / per:.1f}** | **{run.commits / per:.2f}** | "
            f"{run.load[0]:.1f} → {run.load[1]:.1f} |",
            "",
            "Statements per report by kind: "
            + ", ".join(f"{k} {v / per:.2f}" for k, v in run.statements.most_common(14))
            + ".",
            "",
        ]
    out += notes
    return "\n".join(out)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--messages", type=int, default=20000, help="grid-group posts to drain")
    ap.add_argument("--groups", type=int, default=10, help="grid groups")
    ap.add_argument("--users", type=int, default=200, help="residents posting in them")
    ap.add_argument("--latency-reports", type=int, default=300, help="reports, latency run")
    ap.add_argument("--rate", type=float, default=5.0, help="reports/s in the latency run")
    ap.add_argument("--reports", type=int, default=1000, help="reports, lifted run")
    ap.add_argument("--only", default="read,latency,lifted", help="comma list of phases")
    ap.add_argument("--quick", action="store_true", help="a small smoke run (no doc)")
    ap.add_argument("--no-write", action="store_true", help="print, do not write the doc")
    ap.add_argument("--json", default="", help="also write the report runs' figures here")
    return ap.parse_args(argv)


def command_line(args: argparse.Namespace) -> str:
    """The command that reproduces this run."""
    parts = ["./dev bench intake"]
    defaults = parse_args([])
    for name in ("messages", "groups", "users", "latency_reports", "rate", "reports", "only"):
        if getattr(args, name) != getattr(defaults, name):
            parts.append(f"--{name.replace('_', '-')} {getattr(args, name)}")
    return " ".join(parts)


async def amain(args: argparse.Namespace) -> int:
    """Run the phases and write the section."""
    logging.basicConfig(level=logging.WARNING)
    if args.quick:
        args.messages, args.latency_reports, args.reports = 2000, 30, 100
    why = await postgres_reachable()
    if why is not None:
        print(f"PostgreSQL is unreachable at 127.0.0.1:5432 ({why}); this bench needs it",
              file=sys.stderr)
        return 2
    phases = {p.strip() for p in args.only.split(",")}
    log_line("loading the extractor")
    extractor = await asyncio.to_thread(Extractor.load)
    texts, source = report_texts(extractor)
    t0 = time.perf_counter()
    read = None
    if "read" in phases:
        mix = Mix(read_column("dev_chitchat.csv", "text"), read_column("dev_appeals.csv",
                                                                       "subject"))
        log_line(f"read: {args.messages:,} grid-group posts")
        load0 = os.getloadavg()[0]
        read = await measure_read(extractor, mix, args)
        read.load = (load0, os.getloadavg()[0])
        log_line(f"read: {args.messages / read.stored_s:,.0f} msg/s read and decided, "
                 f"{args.messages / read.done_s:,.0f} msg/s handled, PTB alone "
                 f"{args.messages / read.ptb_s:,.0f} msg/s")
    runs = []
    if "latency" in phases:
        log_line(f"latency: {args.latency_reports} reports at {args.rate:g}/s")
        load0 = os.getloadavg()[0]
        run = await measure_reports(extractor, texts, args.latency_reports, args.rate)
        run.load = (load0, os.getloadavg()[0])
        log_line(f"latency: p50 {percentile(run.latencies_ms, 50):.1f} ms, "
                 f"p99 {percentile(run.latencies_ms, 99):.1f} ms")
        runs.append(run)
    if "lifted" in phases:
        log_line(f"lifted: {args.reports} reports at once")
        load0 = os.getloadavg()[0]
        run = await measure_reports(extractor, texts, args.reports, None)
        run.load = (load0, os.getloadavg()[0])
        log_line(f"lifted: {run.reports / run.wall_s:.0f} reports/s, "
                 f"{sum(run.statements.values()) / run.reports:.1f} statements and "
                 f"{run.commits / run.reports:.2f} commits per report")
        runs.append(run)
    if args.json:
        await asyncio.to_thread(Path(args.json).write_text, json.dumps([figures(r) for r in runs]))
    notes = [f"Report texts: {source}. Code measured: {code_version()}. Whole run "
             f"{time.perf_counter() - t0:.0f} s."]
    write = not (args.quick or args.no_write)
    if read is not None:  # a section of its own: a report-only run leaves it alone
        publish("intake-read", "Intake: grid-group messages read and decided, against PTB",
                command_line(args), render(read, [], args, [f"Code measured: {code_version()}."]),
                write=write)
    if runs:
        publish("intake", "Intake: report → acknowledgement", command_line(args),
                render(None, runs, args, notes), write=write)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point for `./dev bench intake`."""
    return asyncio.run(amain(parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
