"""A day of real chit-chat through a grid group opens (almost) no tickets."""

from __future__ import annotations

import asyncio
import csv
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from nlp import Extractor
from storage.models import Ticket
from tests.harness import ADMIN_ID, LocalStack, expect

CHITCHAT = Path(__file__).resolve().parents[3] / "shared" / "data" / "dev_chitchat.csv"
GRID = -1003000000001


def chitchat() -> list[str]:
    """The shared chit-chat sample (presumed non-complaints)."""
    if not CHITCHAT.exists():
        pytest.skip(f"SKIPPED LOUDLY: {CHITCHAT} is missing; the replay cannot run")
    with CHITCHAT.open(encoding="utf-8") as f:
        return [row["text"] for row in csv.DictReader(f) if row["text"].strip()]


@pytest.mark.timeout(600)
async def test_replaying_chit_chat_opens_tickets_for_at_most_one_percent(
    sqlite_url: str, extractor: Extractor
) -> None:
    texts = chitchat()
    async with LocalStack(database_url=sqlite_url, extractor=extractor, migrate=False) as stack:
        sim = stack.sim
        sim.add_user(ADMIN_ID, "王主任")
        sim.add_group(GRID, "幸福社区第三网格群")
        sim.send_text(ADMIN_ID, "/bind_grid 幸福社区第三网格", chat_id=GRID)
        await expect(sim, GRID, lambda m: "网格群" in m["text"])
        assert stack.runtime is not None
        sessions = stack.runtime.services.sessions
        for uid in range(7000, 7200):
            sim.add_user(uid, f"居民{uid}")
        started = time.monotonic()
        for i, text in enumerate(texts):
            sim.send_text(7000 + i % 200, text, chat_id=GRID)

        runtime = stack.runtime

        def handled() -> int:
            # Chatter is decided without a row; everything else is marked handled in the inbox.
            return runtime.intake.chatter_count + runtime.worker.handled

        expected = handled() + len(texts)
        while handled() < expected:
            assert time.monotonic() - started < 540, f"only {handled()} of {expected} read"
            await asyncio.sleep(0.5)
        async with sessions() as s:
            tickets = (await s.execute(select(Ticket.text))).scalars().all()
        rate = len(tickets) / len(texts)
        print(f"\nchit-chat replay: {len(texts)} messages, {len(tickets)} tickets ({rate:.2%})")
        for text in tickets:
            print("  ticket:", text)
        assert rate <= 0.01
