"""Reading what the figures are computed from: one `TicketFacts` per ticket that touches a period.

A ticket's 回访 is its latest concluded round (the first round of a reopened ticket is kept in
the database but the final one counts); of several reporters of a merged ticket, the original
reporter's answers count, else the earliest. It is a valid follow-up when all three questions
were answered.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Result, Select, any_, bindparam, func, or_, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain import Action, Rating
from bot.periods import Period
from bot.services.statistics.figures import Answers, TicketFacts
from storage.models import (
    BoundChat,
    Followup,
    Ticket,
    TicketEvent,
    TicketRating,
    TicketReporter,
)


def _pairs(result: Result[Any]) -> dict[Any, Any]:
    rows: list[Any] = list(result.all())
    return {r[0]: r[1] for r in rows}


async def load_facts(
    session: AsyncSession,
    period: Period,
    *,
    departments: frozenset[str] | None = None,
) -> list[TicketFacts]:
    """Read the facts of every ticket filed in the period or whose 回访 concluded in it.

    `departments` limits them to tickets held by those departments ("" is the dispatch chat).
    """
    low, high = period.bounds()
    ids_query = select(Ticket.id).where(
        or_(
            (Ticket.created_at >= low) & (Ticket.created_at < high),
            Ticket.id.in_(
                select(TicketRating.ticket_id).where(
                    TicketRating.created_at >= low, TicketRating.created_at < high
                )
            ),
        )
    )
    if departments is not None:
        named = [d for d in departments if d]
        held = Ticket.department.in_(named)
        ids_query = ids_query.where(
            or_(held, Ticket.department.is_(None)) if "" in departments else held
        )
    grids = _pairs(
        await session.execute(
            select(BoundChat.chat_id, BoundChat.name).where(BoundChat.kind == "grid")
        )
    )
    # The selection stays in SQL (a semi-join per read), never a long list of ids.
    return await facts_of(session, ids_query, grids)


def among(session: AsyncSession, column: Any, ids: Select[Any] | list[int]) -> Any:
    """`column IN ids`; a list goes to PostgreSQL as one array parameter, not one per id."""
    if isinstance(ids, list) and session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam("ids", ids, type_=ARRAY(BigInteger)))
    return column.in_(ids)


async def facts_of(
    session: AsyncSession, ids: Select[Any] | list[int], grids: dict[int, str]
) -> list[TicketFacts]:
    """The facts of these tickets (a query of their ids, or the ids), grids named by `grids`."""
    columns = (
        Ticket.id, Ticket.number, Ticket.reporter_id, Ticket.department, Ticket.grid_chat_id,
        Ticket.category, Ticket.intent, Ticket.status, Ticket.created_at, Ticket.accept_by,
        Ticket.deadline_at, Ticket.resolved_at, Ticket.overdue_at,
    )  # fmt: skip
    tickets: list[Any] = list(
        (await session.execute(select(*columns).where(among(session, Ticket.id, ids)))).all()
    )
    accepted = _pairs(
        await session.execute(
            select(TicketEvent.ticket_id, func.min(TicketEvent.created_at))
            .where(
                among(session, TicketEvent.ticket_id, ids),
                TicketEvent.action == Action.ACCEPT.value,
            )
            .group_by(TicketEvent.ticket_id)
        )
    )
    reopens = _pairs(
        await session.execute(
            select(TicketEvent.ticket_id, func.count())
            .where(
                among(session, TicketEvent.ticket_id, ids),
                TicketEvent.action == Action.RATE_REOPEN.value,
            )
            .group_by(TicketEvent.ticket_id)
        )
    )
    merged = _pairs(
        await session.execute(
            select(TicketReporter.ticket_id, func.count())
            .where(among(session, TicketReporter.ticket_id, ids))
            .group_by(TicketReporter.ticket_id)
        )
    )
    # Plain rows, not ORM objects: building those is most of the time at scale.
    verdicts: dict[int, list[Any]] = defaultdict(list)
    rating_columns = (
        TicketRating.id, TicketRating.ticket_id, TicketRating.round, TicketRating.rater_id,
        TicketRating.score, TicketRating.created_at,
    )  # fmt: skip
    for rating in (
        await session.execute(
            select(*rating_columns).where(among(session, TicketRating.ticket_id, ids))
        )
    ).all():
        verdicts[rating.ticket_id].append(rating)
    answers: dict[tuple[int, int, int], Any] = {}
    answer_columns = (
        Followup.ticket_id, Followup.round, Followup.rater_id, Followup.contacted,
        Followup.solved, Followup.satisfaction,
    )  # fmt: skip
    for row in (
        await session.execute(
            select(*answer_columns).where(among(session, Followup.ticket_id, ids))
        )
    ).all():
        answers[(row.ticket_id, row.round, row.rater_id)] = row
    facts = []
    for t in tickets:
        verdict, verdict_at, valid = _counted_followup(
            t.id, t.reporter_id, verdicts.get(t.id, []), answers
        )
        facts.append(
            TicketFacts(
                id=t.id,
                number=t.number,
                department=t.department or "",
                grid=grids.get(t.grid_chat_id, "") if t.grid_chat_id is not None else "",
                category=t.category,
                intent=t.intent,
                status=t.status,
                filed_at=t.created_at,
                accept_by=t.accept_by,
                deadline_at=t.deadline_at,
                accepted_at=accepted.get(t.id),
                resolved_at=t.resolved_at,
                overdue=t.overdue_at is not None,
                reopens=int(reopens.get(t.id, 0)),
                merged=int(merged.get(t.id, 0)),
                verdict=verdict,
                verdict_at=verdict_at,
                answers=valid,
                grid_chat_id=t.grid_chat_id,
            )
        )
    return facts


def _counted_followup(
    ticket_id: int,
    reporter_id: int,
    ratings: list[Any],
    answers: dict[tuple[int, int, int], Any],
) -> tuple[str | None, datetime | None, Answers | None]:
    """The verdict, its time and the valid answers of the ticket's latest concluded round."""
    if not ratings:
        return None, None, None
    last_round = max(r.round for r in ratings)
    of_round = [r for r in ratings if r.round == last_round]
    of_round.sort(key=lambda r: (r.rater_id != reporter_id, r.created_at, r.id))
    rated = [r for r in of_round if r.score != Rating.UNRATED]
    chosen = (rated or of_round)[0]
    row = answers.get((ticket_id, chosen.round, chosen.rater_id))
    valid = None
    if (
        chosen.score != Rating.UNRATED
        and row is not None
        and row.contacted is not None
        and row.solved is not None
        and row.satisfaction is not None
    ):
        valid = Answers(row.contacted, row.solved, row.satisfaction)
    return chosen.score, chosen.created_at, valid
