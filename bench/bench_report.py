"""The report path before and after a change, measured in one session: `bench.bench_intake`'s
report phases (acknowledgement latency at 5 reports/s with production pacing; reports/s with
pacing lifted; statements and commits per report) run alternately on a checkout of an earlier
commit and on this tree, so both see the same machine in the same minutes.

Run: flock /tmp/huiyin-bench.lock ./dev bench report --before <commit> [--rounds 2]
     [--latency-reports 200] [--reports 500] [--no-write]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from statistics import median
from typing import Any

from bench.common import REPO, code_version
from bench.data import data_dir
from bench.report import log_line, publish


def checkout(commit: str, into: Path) -> str:
    """Unpack `commit`'s tree into `into` with this tree's bench/ (same instruments); return
    its short id."""
    short = subprocess.run(["git", "rev-parse", "--short", commit], cwd=REPO, text=True,
                           capture_output=True, check=True).stdout.strip()
    archive = subprocess.run(["git", "archive", commit], cwd=REPO, capture_output=True,
                             check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    shutil.rmtree(into / "bench")
    shutil.copytree(REPO / "bench", into / "bench",
                    ignore=shutil.ignore_patterns("__pycache__"))
    return short


def snapshot(into: Path) -> None:
    """Copy this tree's code into `into`, so edits made while the bench runs are not measured."""
    skip = shutil.ignore_patterns("__pycache__", ".venv", ".git", "*.egg-info", "node_modules")
    for name in ("bench", "bot", "handlers", "nlp", "storage", "tests"):
        shutil.copytree(REPO / name, into / name, ignore=skip)
    for name in ("pyproject.toml",):
        shutil.copy2(REPO / name, into / name)


def one_run(where: Path, args: argparse.Namespace, out: Path) -> list[dict[str, Any]]:
    """Run the report phases of the intake bench in `where` (its code first on the path)."""
    cmd = [sys.executable, "-m", "bench.bench_intake", "--only", "latency,lifted",
           "--latency-reports", str(args.latency_reports), "--reports", str(args.reports),
           "--no-write", "--json", str(out)]
    env = os.environ | {"HUIYIN_DATA_DIR": str(data_dir())}  # the same texts for both
    subprocess.run(cmd, cwd=where, check=True, stdout=subprocess.DEVNULL, env=env)
    result: list[dict[str, Any]] = json.loads(out.read_text())
    return result


def render(rows: list[tuple[str, int, list[dict[str, Any]]]], before: str, after: str,
           args: argparse.Namespace) -> str:
    """The Markdown body: one line per run, then the medians side by side."""
    out = [
        f"Before = `{before}`, after = {after}; the same bench code (`bench/bench_intake.py`, "
        "report phases) runs each in a process of its own, alternating, on a fresh PostgreSQL "
        f"database and Redis prefix per run. Latency: {args.latency_reports} reports at 5/s "
        f"(production pacing), from the resident's message to the acknowledgement stored by "
        f"the simulator. Lifted: {args.reports} reports pushed at once with Telegram's pacing "
        "lifted, reports/s from the first push to the last acknowledgement. Statements and "
        "commits: every one the bot's engine ran, divided by the reports (the outbox sender's "
        "included; the lifted run counts until the staff cards are out too).",
        "",
        "| run | code | acks at 5/s p50 / p99 ms | statements / commits per report at 5/s "
        "| lifted reports/s | process CPU lifted | statements / commits per report lifted "
        "| load (1 min) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for label, i, runs in rows:
        lat = next(r for r in runs if r["kind"] == "latency")
        lifted = next(r for r in runs if r["kind"] == "lifted")
        out.append(
            f"| {i} | {label} | {lat['p50']:.1f} / {lat['p99']:.1f} | "
            f"{lat['statements']:.1f} / {lat['commits']:.2f} | **{lifted['rate']:.1f}** | "
            f"{lifted['cpu']:.0%} | {lifted['statements']:.1f} / {lifted['commits']:.2f} | "
            f"{lat['load'][0]:.1f}–{lifted['load'][1]:.1f} |"
        )
    out += ["", "Medians of the runs above:", "",
            "| code | acks at 5/s p50 / p99 ms | lifted reports/s | statements / commits per "
            "report (5/s) | statements / commits per report (lifted) |",
            "|---|---|---|---|---|"]
    for label in ("before", "after"):
        mine = [runs for lab, _, runs in rows if lab == label]
        lats = [next(r for r in runs if r["kind"] == "latency") for runs in mine]
        lifts = [next(r for r in runs if r["kind"] == "lifted") for runs in mine]
        out.append(
            f"| {label} | **{median(r['p50'] for r in lats):.1f} / "
            f"{median(r['p99'] for r in lats):.1f}** | "
            f"**{median(r['rate'] for r in lifts):.1f}** | "
            f"{median(r['statements'] for r in lats):.1f} / "
            f"{median(r['commits'] for r in lats):.2f} | "
            f"{median(r['statements'] for r in lifts):.1f} / "
            f"{median(r['commits'] for r in lifts):.2f} |"
        )
    last = {lab: runs for lab, _, runs in rows}
    for label in ("before", "after"):
        final = next(r for r in last[label] if r["kind"] == "lifted")
        kinds = ", ".join(f"{k} {v:.2f}" for k, v in list(final["by_kind"].items())[:16])
        out += ["", f"Statements per report by kind, {label}, last lifted run: {kinds}."]
    return "\n".join(out)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--before", required=True, help="the commit to compare with")
    ap.add_argument("--rounds", type=int, default=2, help="before/after pairs")
    ap.add_argument("--latency-reports", type=int, default=200)
    ap.add_argument("--reports", type=int, default=500)
    ap.add_argument("--no-write", action="store_true", help="print, do not write the doc")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Entry point for `./dev bench report`."""
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="huiyin-before-") as tmp:
        base = Path(tmp) / "tree"
        base.mkdir()
        before = checkout(args.before, base)
        after = code_version()
        now = Path(tmp) / "now"
        now.mkdir()
        snapshot(now)
        rows: list[tuple[str, int, list[dict[str, Any]]]] = []
        for i in range(1, args.rounds + 1):
            order = [("before", base), ("after", now)]
            if i % 2 == 0:
                order.reverse()  # neither side always runs first
            for label, where in order:
                log_line(f"round {i}: {label}")
                runs = one_run(where, args, Path(tmp) / f"{label}{i}.json")
                rows.append((label, i, runs))
                lat, lifted = runs[0], runs[-1]
                log_line(f"  acks p50/p99 {lat['p50']:.1f}/{lat['p99']:.1f} ms, lifted "
                         f"{lifted['rate']:.1f} reports/s, {lifted['statements']:.1f} "
                         f"statements and {lifted['commits']:.2f} commits per report; "
                         f"load {os.getloadavg()[0]:.1f}")
    command = f"flock /tmp/huiyin-bench.lock ./dev bench report --before {args.before}"
    defaults = parse_args(["--before", "x"])
    for name in ("rounds", "latency_reports", "reports"):
        if getattr(args, name) != getattr(defaults, name):
            command += f" --{name.replace('_', '-')} {getattr(args, name)}"
    publish("report", "Report path before and after, one session", command,
            render(rows, before, after, args), write=not args.no_write)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
