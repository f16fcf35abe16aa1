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
import logging
import shutil
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import (
    ACK_MARK,
    LIFTED,
    PACED,
    PROFILE_REPORTS,
    AckClock,
    PassTimer,
    Profiler,
    SqlCounter,
    Users,
    by_kind,
    code_version,
    percentile,
    postgres_reachable,
    report_texts,
    running_stack,
    summarise_profile,
    warm_up,
)
from bench.report import log_line, publish
from nlp import Extractor
from tests.harness import LocalStack

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
            statements=by_kind(sql.statements),
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
