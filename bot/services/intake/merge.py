"""Many voices, one ticket: a grid-group report about an open ticket's problem joins it, and
the replies that joined one are found again (to split them off with /split)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain import OPEN_STATUSES, EventKind, Role
from bot.services import gate
from bot.services.context import Person, Services
from bot.services.intake.filing import Source
from bot.services.intake.similarity import same_problem
from nlp import Extraction
from storage.models import Ticket, TicketReporter


async def find_same_problem(
    services: Services,
    session: AsyncSession,
    source: Source,
    body: str,
    extraction: Extraction,
    now: datetime,
) -> Ticket | None:
    """An open ticket of the same grid and category, recent, about the same problem."""
    if source.grid_chat_id is None:
        return None
    since = now - timedelta(seconds=services.merge_window_seconds)
    candidates = (
        await session.execute(
            select(Ticket)
            .where(
                Ticket.grid_chat_id == source.grid_chat_id,
                Ticket.category == extraction.category_label,
                Ticket.status.in_([s.value for s in OPEN_STATUSES]),
                Ticket.created_at >= since,
            )
            .order_by(Ticket.id.desc())
            .limit(50)
        )
    ).scalars()
    for ticket in candidates:
        if same_problem(
            body, extraction.location, ticket.text, ticket.location, services.merge_similarity
        ):
            return ticket
    return None


async def join(
    session: AsyncSession,
    ticket: Ticket,
    reporter: Person,
    source: Source,
    body: str,
    now: datetime,
) -> None:
    """Add another voice to an open ticket: recorded, counted on the card, told every step."""
    session.add(
        TicketReporter(
            ticket_id=ticket.id,
            user_id=reporter.id,
            source_chat_id=source.chat_id,
            source_message_id=source.message_id,
            text=body,
            created_at=now,
        )
    )
    await gate.note(
        session,
        ticket,
        EventKind.MERGE,
        role=Role.REPORTER,
        actor_id=source.worker_id or reporter.id,
        note=body[:500],
        at=now,
    )


async def merged_into(
    session: AsyncSession, chat_id: int, message_id: int
) -> TicketReporter | None:
    """The merge record of a group message, if it joined another ticket."""
    return (
        await session.execute(
            select(TicketReporter).where(
                TicketReporter.source_chat_id == chat_id,
                TicketReporter.source_message_id == message_id,
            )
        )
    ).scalar_one_or_none()
