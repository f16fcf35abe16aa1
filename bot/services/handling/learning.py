"""Labelled examples from people's corrections, and their export in the dev_colloquial format.

Every correction teaches: staff changing a category (the text with the right category), a
resident or grid worker answering 不是 / 不用了 to a question, staff marking a grid ticket
非诉求 (the text as chatter). `huiyin nlp export-corrections` writes them as a CSV that
`huiyin nlp eval` and `huiyin nlp suggest` read like the shared data.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import LabelledExample, Ticket

# Where an example came from (the `source` column).
CATEGORY = "category"  # staff corrected a ticket's category
GROUP_NO = "group_no"  # 不是 under a grid-group question
PRIVATE_NO = "private_no"  # 不用了 under a private question
NOT_REPORT = "not_report"  # staff marked a grid ticket 非诉求

GROUP, PRIVATE = "group", "private"
REPORT, CHATTER = "report", "chatter"
COLUMNS = ("id", "channel", "kind", "text", "category", "intent", "urgency")


async def record(
    session: AsyncSession,
    *,
    source: str,
    channel: str,
    text: str,
    actor_id: int | None,
    at: datetime,
    ticket: Ticket | None = None,
    category: str = "",
) -> LabelledExample:
    """Store one labelled example: a report of `category` (taken from `ticket` for intent and
    urgency), or chatter when no category is given. A ticket's newer category correction
    replaces its older one: the last word is the label."""
    if source == CATEGORY and ticket is not None:
        await session.execute(
            delete(LabelledExample).where(
                LabelledExample.ticket_id == ticket.id, LabelledExample.source == CATEGORY
            )
        )
    example = LabelledExample(
        source=source,
        channel=channel,
        kind=REPORT if category else CHATTER,
        text=text,
        category=category,
        intent=ticket.intent if ticket is not None and category else "",
        urgency=ticket.urgency if ticket is not None and category else "",
        ticket_id=ticket.id if ticket is not None else None,
        actor_id=actor_id,
        created_at=at,
    )
    session.add(example)
    await session.flush()
    return example


def channel_of(ticket: Ticket) -> str:
    """The channel a ticket was heard in: a grid group, or a private chat."""
    return GROUP if ticket.grid_chat_id is not None else PRIVATE


async def examples(session: AsyncSession) -> list[LabelledExample]:
    """Every stored example, oldest first."""
    rows = await session.execute(select(LabelledExample).order_by(LabelledExample.id))
    return list(rows.scalars())


def write_csv(rows: Iterable[LabelledExample], path: Path) -> int:
    """Write examples as dev_colloquial CSV (id C0001…); return how many were written."""
    count = 0
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(COLUMNS)
        for row in rows:
            writer.writerow(
                (
                    f"C{row.id:04d}",
                    row.channel,
                    row.kind,
                    " ".join(row.text.split()),
                    row.category,
                    row.intent,
                    row.urgency,
                )
            )
            count += 1
    return count
