"""Write one benchmark's section of docs/BENCHMARKS.md, leaving the other sections alone."""

from __future__ import annotations

import platform
import re
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "BENCHMARKS.md"
HEADER = (
    "# Benchmarks\n\n"
    "Every figure below was written by a script in `bench/`; each section names the command\n"
    "that produced it. Machines here are noisy (2 shared cores): compare ratios measured in\n"
    "one run, not absolute numbers across runs.\n"
)


def machine_line() -> str:
    """Describe the machine a figure was measured on."""
    import os

    return (
        f"{platform.machine()}, {os.cpu_count()} cores, Python {sys.version.split()[0]}, "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    )


def write_section(name: str, title: str, command: str, body: str) -> None:
    """Replace (or append) the section called `name` in docs/BENCHMARKS.md."""
    text = DOC.read_text(encoding="utf-8") if DOC.exists() else HEADER
    block = (
        f"<!-- bench:{name} -->\n## {title}\n\n"
        f"Command: `{command}`  \nMeasured on: {machine_line()}\n\n{body.strip()}\n"
        f"<!-- /bench:{name} -->"
    )
    tag = re.escape(name)
    pattern = re.compile(rf"<!-- bench:{tag} -->.*?<!-- /bench:{tag} -->", re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _m: block, text)
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(text, encoding="utf-8")


def log_line(text: str) -> None:
    """Print one progress line, flushed at once."""
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


def publish(name: str, title: str, command: str, body: str, *, write: bool) -> None:
    """Print a bench's section, and write it into docs/BENCHMARKS.md when `write`."""
    print("\n" + body + "\n", flush=True)
    if not write:
        log_line("not writing docs/BENCHMARKS.md (--quick / --no-write)")
        return
    write_section(name, title, command, body)
    log_line(f"wrote the '{name}' section of docs/BENCHMARKS.md")
