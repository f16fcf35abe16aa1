"""The sweeper: finds what is due (催办, 督办, 提级, rating reminder, auto-close) and does it.

One pass takes the due tickets in batches through the ``ix_tickets_next_due`` index
(``WHERE next_due_at <= now ORDER BY next_due_at LIMIT n``, ``FOR UPDATE SKIP LOCKED`` on
PostgreSQL), does each ticket's step and reschedules it, one transaction per batch. The database
is the truth: a pass that dies before its commit did nothing; one that committed moved the
tickets on, and idempotent outbox keys keep a re-run from sending anything twice. Only one
instance sweeps at a time (`Sweeper` leads through `storage.leader`: a PostgreSQL advisory
lock, so a Redis outage does not stop it; a coordinator lease on SQLite).
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import texts
from bot.domain import Action, EventKind, Rating, Role
from bot.intents import Notice
from bot.metrics import COUNTERS
from bot.services import gate
from bot.services.context import Services
from bot.services.handling import dispatch, routing
from bot.services.notices.messages import notify_reporter, tell_chats
from bot.services.rating import followup, rating
from bot.services.statistics import report, rollup
from bot.services.supervision import supervision
from bot.services.tickets import format_time, reporter_ids
from storage.leader import Leader
from storage.models import Ticket, TicketRating
from storage.outbox import enqueue, insert_ignore

log = logging.getLogger("huiyin.sweeper")

LEASE_NAME = "sweeper"
_MAX_STEPS = 4  # per ticket per pass: a ticket far behind catches up over a few passes


def due_query(now: datetime, limit: int) -> Select[Ticket]:
    """The indexed query for the tickets whose next step is due."""
    return (
        select(Ticket)
        .where(Ticket.next_due_at <= now)
        .order_by(Ticket.next_due_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )


async def sweep(services: Services, *, batch: int = 200, max_batches: int = 1000) -> Counter[str]:
    """Run one pass at the services' clock; return how many of each step were done."""
    now = services.clock()
    done: Counter[str] = Counter()
    for _ in range(max_batches):
        async with services.sessions.begin() as session:
            tickets = list((await session.execute(due_query(now, batch))).scalars())
            for ticket in tickets:
                await _advance(services, session, ticket, now, done)
        if len(tickets) < batch:
            break
    if done:
        services.wake()
        log.info("sweep at %s: %s", now.isoformat(), dict(done))
    return done


async def _advance(
    services: Services, session: AsyncSession, ticket: Ticket, now: datetime, done: Counter[str]
) -> None:
    for _ in range(_MAX_STEPS):
        kind: str | None = ticket.due_kind
        if ticket.next_due_at is None or ticket.next_due_at > now:
            return
        if kind == supervision.REMIND and ticket.deadline_at <= now:
            ticket.supervision = 1  # too late to remind: straight to 督办
            kind = "late_remind"
        elif kind == supervision.RATE_REMIND and (
            ticket.escalate_at is not None and ticket.escalate_at <= now
        ):
            ticket.supervision = 1  # too late to remind: close
            kind = "late_rate_remind"
        elif kind == supervision.REMIND:
            await _remind(session, ticket, now)
        elif kind == supervision.OVERDUE:
            await _overdue(services, session, ticket, now)
        elif kind == supervision.ESCALATE:
            kind = await _escalate(services, session, ticket, now)
        elif kind == supervision.RATE_REMIND:
            await _rate_remind(session, ticket, now)
        elif kind == supervision.AUTOCLOSE:
            await _autoclose(services, session, ticket, now)
        else:
            kind = "skipped"
        supervision.schedule(ticket)
        done[kind or "skipped"] += 1
    await session.flush()


async def _note(
    session: AsyncSession,
    ticket: Ticket,
    kind: EventKind,
    note: str,
    now: datetime,
    *,
    refresh: bool = False,
) -> None:
    await gate.note(
        session, ticket, kind, role=Role.SYSTEM, actor_id=None, note=note, at=now, refresh=refresh
    )


async def _remind(session: AsyncSession, ticket: Ticket, now: datetime) -> None:
    """催办: the handling department hears that the deadline is near."""
    ticket.supervision = 1
    await _note(session, ticket, EventKind.REMIND, format_time(ticket.deadline_at), now)
    await tell_chats(
        session,
        ticket,
        await routing.holder_chats(session, ticket),
        f"remind:{ticket.id}:{int(ticket.deadline_at.timestamp())}",
        texts.REMIND.format(
            number=ticket.number,
            category=ticket.category,
            deadline=format_time(ticket.deadline_at),
        ),
    )


async def _overdue(
    services: Services, session: AsyncSession, ticket: Ticket, now: datetime
) -> None:
    """督办: the ticket is flagged overdue and its supervisors are told."""
    ticket.supervision = 2
    ticket.overdue_at = now
    await _note(
        session, ticket, EventKind.OVERDUE, texts.EVENT_NAMES["overdue"], now, refresh=True
    )
    key = f"overdue:{ticket.id}:{int(ticket.deadline_at.timestamp())}"
    deadline = format_time(ticket.deadline_at)
    supervisors = await routing.supervisor_chats(session, services.directory, ticket)
    holders = [c for c in await routing.holder_chats(session, ticket) if c not in supervisors]
    await tell_chats(
        session,
        ticket,
        supervisors,
        key,
        texts.SUPERVISE.format(
            number=ticket.number,
            department=ticket.department_name or texts.DISPATCH_NAME,
            deadline=deadline,
        ),
    )
    await tell_chats(
        session,
        ticket,
        holders,
        key,
        texts.OVERDUE_HOLDER.format(number=ticket.number, deadline=deadline),
    )


async def _escalate(
    services: Services, session: AsyncSession, ticket: Ticket, now: datetime
) -> str:
    """Still overdue after the escalation period: up one level (nothing above the top)."""
    department = await dispatch.escalate(
        services,
        session,
        ticket,
        actor_id=None,
        role=Role.SYSTEM,
        reason=texts.AUTO_ESCALATE_REASON,
        now=now,
    )
    if department is None:
        ticket.escalate_at = None
        return "top"
    return supervision.ESCALATE


async def _rate_remind(session: AsyncSession, ticket: Ticket, now: datetime) -> None:
    """One reminder to each reporter who has not finished the 回访, at the question they are on."""
    ticket.supervision = 1
    await _note(session, ticket, EventKind.RATE_REMIND, "", now)
    rated = set(
        (
            await session.execute(
                select(TicketRating.rater_id).where(
                    TicketRating.ticket_id == ticket.id,
                    TicketRating.round == ticket.resolution_round,
                )
            )
        ).scalars()
    )
    for user_id in await reporter_ids(session, ticket):
        if user_id in rated:
            continue
        progress = await rating.progress_of(session, ticket, user_id)
        await enqueue(
            session,
            key=f"rate_remind:{ticket.resolution_round}:{ticket.id}:{user_id}",
            chat_id=user_id,
            intent=Notice(
                texts.RATE_REMINDER.format(number=ticket.number)
                + "\n"
                + followup.progress(progress),
                followup.keyboard(ticket.id, ticket.resolution_round, progress),
            ),
            ticket_id=ticket.id,
        )


async def _autoclose(
    services: Services, session: AsyncSession, ticket: Ticket, now: datetime
) -> None:
    """No rating within the period: close as 未评价, which never counts as satisfied."""
    for user_id in await reporter_ids(session, ticket):
        await insert_ignore(
            session,
            TicketRating,
            {
                "ticket_id": ticket.id,
                "round": ticket.resolution_round,
                "rater_id": user_id,
                "score": Rating.UNRATED.value,
                "created_at": now,
            },
            ["ticket_id", "round", "rater_id"],
        )
    await gate.move(
        session,
        ticket,
        Action.AUTOCLOSE,
        roles=Role.SYSTEM,
        actor_id=None,
        note=texts.RATING_NAMES[Rating.UNRATED],
        at=now,
        timetable=services,
    )
    await notify_reporter(
        session,
        ticket,
        f"autoclosed:{ticket.resolution_round}",
        texts.AUTOCLOSED.format(number=ticket.number),
    )


class Sweeper:
    """Runs sweeper passes while this instance leads (see `storage.leader`)."""

    def __init__(self, services: Services, leader: Leader) -> None:
        self.services = services
        self.leader = leader

    async def tick(self) -> Counter[str] | None:
        """Take or keep the lead, then sweep (and send the weekly report when it is due);
        None when another instance leads."""
        if not await self.leader.lead():
            return None
        done = await sweep(self.services)
        COUNTERS.last_sweep_at = self.services.clock()
        try:
            # So the console finds little to fold; bounded, so a backlog (the migration notes
            # every ticket) does not hold the next sweep up for minutes.
            await rollup.catch_up(self.services.sessions, batches=20)
            await report.weekly(self.services)
        except Exception:  # the report must never stop the sweeper; it is retried next pass
            log.exception("statistics rollup or weekly report failed")
        return done

    async def close(self) -> None:
        """Give the lead up so another instance can take over at once."""
        await self.leader.resign()
