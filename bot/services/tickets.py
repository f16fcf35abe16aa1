"""Ticket records shared by every stage: numbering, loading, the people on a ticket, and the
business timezone."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot import texts
from bot.domain import NotFound, format_ticket_number
from bot.services.context import Person
from storage.models import DayCounter, Ticket, TicketReporter, User, utcnow

_PEOPLE = "huiyin_people"
LOCAL_TZ = ZoneInfo("Asia/Shanghai")


def local_day(at: datetime) -> date:
    """Return the filing day in the business timezone."""
    return at.astimezone(LOCAL_TZ).date()


def format_time(at: datetime) -> str:
    """Format a moment for people, in the business timezone."""
    return f"{at.astimezone(LOCAL_TZ):%Y-%m-%d %H:%M}"


async def next_number(session: AsyncSession, day: date) -> str:
    """Take the next ticket number of `day` atomically (safe across instances)."""
    key = f"{day:%Y%m%d}"
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = (
        insert(DayCounter)
        .values(day=key, last_seq=1)
        .on_conflict_do_update(index_elements=["day"], set_={"last_seq": DayCounter.last_seq + 1})
        .returning(DayCounter.last_seq)
    )
    seq = (await session.execute(stmt)).scalar_one()
    return format_ticket_number(day, seq)


async def remember_user(
    session: AsyncSession, person: Person, *, started: datetime | None
) -> User:
    """Create or refresh the user row in one statement; `started` marks that they wrote to the
    bot privately."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = insert(User).values(
        id=person.id,
        first_name=person.first_name[:128],
        username=person.username,
        started_at=started,
        created_at=utcnow(),
    )
    changes: dict[str, Any] = {"first_name": person.first_name[:128], "username": person.username}
    if started is not None:
        changes["started_at"] = func.coalesce(User.started_at, started)
        changes["blocked_bot_at"] = None
    upsert = stmt.on_conflict_do_update(index_elements=["id"], set_=changes).returning(User)
    user = (
        await session.scalars(upsert, execution_options={"populate_existing": True})
    ).one()
    # The session's identity map holds objects weakly: keep this one for the transaction, so
    # reading the person again (a card shows the reporter) costs no second SELECT.
    session.info.setdefault(_PEOPLE, {})[user.id] = user
    return user


async def reporter_ids(session: AsyncSession, ticket: Ticket) -> list[int]:
    """Everyone who reported this ticket: the first reporter, then those merged into it."""
    joined = await session.execute(
        select(TicketReporter.user_id)
        .where(TicketReporter.ticket_id == ticket.id)
        .order_by(TicketReporter.id)
    )
    ids = [ticket.reporter_id]
    for user_id in joined.scalars():
        if user_id not in ids:
            ids.append(user_id)
    return ids


async def load_ticket(session: AsyncSession, ticket_id: int, *, lock: bool = False) -> Ticket:
    """Return the ticket by id, or raise NotFound."""
    stmt = select(Ticket).where(Ticket.id == ticket_id)
    if lock:
        stmt = stmt.with_for_update()
    ticket = (await session.execute(stmt)).scalar_one_or_none()
    if ticket is None:
        raise NotFound(texts.ALERT_INVALID)
    return ticket


async def find_by_number(session: AsyncSession, number: str) -> Ticket | None:
    """Return the ticket with this number, or None."""
    return (
        await session.execute(select(Ticket).where(Ticket.number == number))
    ).scalar_one_or_none()
