"""Ticket lists and a ticket's details for the console, filtered and limited to what one sees.

Plain values out: `TicketRow` and `TicketDetail` hold display-ready strings with personal data
masked as on the staff cards.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import texts
from bot.departments import Directory
from bot.domain import Action, AttachmentKind, Rating, Status
from bot.periods import Period
from bot.privacy import mask_id, mask_name, mask_text
from bot.services.statistics.access import Scope
from bot.services.tickets import format_time
from storage.models import (
    Attachment,
    BoundChat,
    Followup,
    StaffMember,
    Ticket,
    TicketEvent,
    TicketRating,
    User,
)

OPEN = (
    Status.NEW,
    Status.DISPATCHING,
    Status.ACCEPTED,
    Status.EXTENDING,
    Status.REOPENED,
)
PAGE = 50


@dataclass(frozen=True, slots=True)
class TicketFilter:
    """What a ticket list shows: a period (by filing day) and optional narrowing."""

    period: Period
    status: str = ""
    overdue: bool = False
    reopened: bool = False
    category: str = ""
    grid: str = ""
    department: str = ""

    def parts(self) -> list[str]:
        """The filters in use, for file names and headings."""
        named = [
            texts.STATUS_NAMES.get(self.status, "") if self.status else "",
            "超期" if self.overdue else "",
            "重办" if self.reopened else "",
            self.category,
            self.grid,
            self.department,
        ]
        return [p for p in named if p]


@dataclass(frozen=True, slots=True)
class TicketRow:
    """One line of a ticket list."""

    number: str
    status: str
    category: str
    department: str
    grid: str
    filed: str
    deadline: str
    overdue: bool
    reopened: bool
    verdict: str


@dataclass(frozen=True)
class TicketDetail:
    """A ticket as the console shows it: masked text, the timeline, the 回访 and evidence."""

    number: str
    status: str
    category: str
    department: str
    grid: str
    reporter: str
    text: str
    location: str
    filed: str
    accept_by: str
    deadline: str
    resolution: str
    reopen_reason: str
    timeline: list[tuple[str, str, str, str]] = field(default_factory=list)
    followups: list[tuple[int, str, str, str, str]] = field(default_factory=list)
    evidence: list[tuple[str, str]] = field(default_factory=list)


def _visible(query: Select[Any], scope: Scope) -> Select[Any]:
    allowed = scope.limit()
    if allowed is None:
        return query
    named = [d for d in allowed if d]
    held = Ticket.department.in_(named)
    return query.where(or_(held, Ticket.department.is_(None)) if "" in allowed else held)


def _reopened() -> object:
    return exists().where(
        TicketEvent.ticket_id == Ticket.id, TicketEvent.action == Action.RATE_REOPEN.value
    )


def _late(now: datetime) -> object:
    return or_(
        Ticket.overdue_at.is_not(None),
        and_(Ticket.status.in_([s.value for s in OPEN]), Ticket.deadline_at <= now),
    )


async def _grids(session: AsyncSession) -> dict[int, str]:
    rows = await session.execute(
        select(BoundChat.chat_id, BoundChat.name).where(BoundChat.kind == "grid")
    )
    return {r[0]: r[1] for r in rows.all()}


async def list_tickets(
    session: AsyncSession,
    scope: Scope,
    filt: TicketFilter,
    directory: Directory,
    now: datetime,
    *,
    page: int = 1,
    limit: int | None = PAGE,
) -> tuple[list[TicketRow], int]:
    """The tickets filed in the period that match the filter, newest first, and their count."""
    low, high = filt.period.bounds()
    query = _visible(select(Ticket), scope).where(
        Ticket.created_at >= low, Ticket.created_at < high
    )
    if filt.status:
        query = query.where(Ticket.status == filt.status)
    if filt.overdue:
        query = query.where(_late(now))  # type: ignore[arg-type]
    if filt.reopened:
        query = query.where(_reopened())  # type: ignore[arg-type]
    if filt.category:
        query = query.where(
            or_(Ticket.category == filt.category, Ticket.category.startswith(filt.category + "/"))
        )
    grids = await _grids(session)
    if filt.grid:
        chats = [c for c, n in grids.items() if n == filt.grid]
        query = query.where(Ticket.grid_chat_id.in_(chats))
    if filt.department:
        query = query.where(
            Ticket.department.is_(None)
            if filt.department == "-"
            else (Ticket.department == filt.department)
        )
    total = (
        await session.execute(select(func.count()).select_from(query.subquery()))
    ).scalar_one()
    query = query.order_by(Ticket.created_at.desc(), Ticket.id.desc())
    if limit is not None:
        query = query.limit(limit).offset((max(page, 1) - 1) * limit)
    tickets: list[Ticket] = list((await session.execute(query)).scalars())
    ids = [t.id for t in tickets]
    reopened = set(
        (
            await session.execute(
                select(TicketEvent.ticket_id).where(
                    TicketEvent.ticket_id.in_(ids),
                    TicketEvent.action == Action.RATE_REOPEN.value,
                )
            )
        ).scalars()
    )
    verdicts: dict[int, str] = {}
    for tid, score in (
        await session.execute(
            select(TicketRating.ticket_id, TicketRating.score)
            .where(TicketRating.ticket_id.in_(ids))
            .order_by(TicketRating.round, TicketRating.id)
        )
    ).all():
        verdicts[tid] = texts.RATING_NAMES.get(score, score)
    rows = [
        TicketRow(
            number=t.number,
            status=texts.STATUS_NAMES.get(t.status, t.status),
            category=t.category,
            department=directory.name(t.department) if t.department else texts.DISPATCH_NAME,
            grid=grids.get(t.grid_chat_id, "") if t.grid_chat_id is not None else "",
            filed=format_time(t.created_at),
            deadline=format_time(t.deadline_at),
            overdue=t.overdue_at is not None or (t.status in OPEN and t.deadline_at <= now),
            reopened=t.id in reopened,
            verdict=verdicts.get(t.id, ""),
        )
        for t in tickets
    ]
    return rows, int(total)


async def find_visible(session: AsyncSession, scope: Scope, number: str) -> Ticket | None:
    """The ticket with this number if this person may see it."""
    ticket = (
        await session.execute(select(Ticket).where(Ticket.number == number))
    ).scalar_one_or_none()
    if ticket is None or not scope.sees(ticket.department):
        return None
    return ticket


async def detail(session: AsyncSession, ticket: Ticket, directory: Directory) -> TicketDetail:
    """Everything the console shows about one ticket, personal data masked."""
    reporter = await session.get(User, ticket.reporter_id)
    grids = await _grids(session)
    events = await session.execute(
        select(TicketEvent, StaffMember.display_name)
        .outerjoin(StaffMember, StaffMember.user_id == TicketEvent.actor_id)
        .where(TicketEvent.ticket_id == ticket.id)
        .order_by(TicketEvent.id)
    )
    timeline = []
    for event, staff_name in events.all():
        who = staff_name or {"reporter": "反映人", "system": "系统"}.get(event.role, "")
        timeline.append(
            (
                format_time(event.created_at),
                texts.EVENT_NAMES.get(event.action, event.action),
                who,
                mask_text(event.note or "")[:500],
            )
        )
    followups = []
    for row in (
        await session.execute(
            select(Followup).where(Followup.ticket_id == ticket.id).order_by(Followup.round)
        )
    ).scalars():
        followups.append(
            (
                row.round,
                "" if row.contacted is None else texts.CONTACTED_NAMES[row.contacted],
                texts.SOLVED_NAMES.get(row.solved or "", ""),
                texts.RATING_NAMES.get(row.satisfaction or "", ""),
                format_time(row.completed_at) if row.completed_at else "未完成",
            )
        )
    evidence = []
    for att in (
        await session.execute(
            select(Attachment).where(Attachment.ticket_id == ticket.id).order_by(Attachment.id)
        )
    ).scalars():
        if att.latitude is not None and att.longitude is not None:
            evidence.append(("位置", f"{att.latitude:.5f}, {att.longitude:.5f}"))
        else:
            kind = "办理结果照片" if att.kind == AttachmentKind.RESULT_PHOTO else "照片"
            evidence.append((kind, format_time(att.created_at)))
    return TicketDetail(
        number=ticket.number,
        status=texts.STATUS_NAMES.get(ticket.status, ticket.status),
        category=ticket.category,
        department=(
            directory.name(ticket.department) if ticket.department else texts.DISPATCH_NAME
        ),
        grid=grids.get(ticket.grid_chat_id, "") if ticket.grid_chat_id is not None else "",
        reporter=texts.REPORTER_HIDDEN.format(
            name=mask_name(reporter.first_name if reporter else ""),
            masked_id=mask_id(ticket.reporter_id),
        ),
        text=mask_text(ticket.text),
        location=mask_text(ticket.location or ""),
        filed=format_time(ticket.created_at),
        accept_by=format_time(ticket.accept_by),
        deadline=format_time(ticket.deadline_at),
        resolution=mask_text(ticket.resolution_note or ""),
        reopen_reason=mask_text(ticket.reopen_reason or ""),
        timeline=timeline,
        followups=followups,
        evidence=evidence,
    )


async def dissatisfied(
    session: AsyncSession, scope: Scope, period: Period, directory: Directory
) -> list[tuple[str, str, int, str, str, str]]:
    """不满意专区: every 不满意 verdict given in the period (number, department, round, when,
    reason, where the ticket stands now), newest first."""
    low, high = period.bounds()
    query = _visible(
        select(Ticket, TicketRating)
        .join(TicketRating, TicketRating.ticket_id == Ticket.id)
        .where(
            TicketRating.score == Rating.DISSATISFIED.value,
            TicketRating.created_at >= low,
            TicketRating.created_at < high,
        )
        .order_by(TicketRating.created_at.desc()),  # type: ignore[arg-type]
        scope,
    )
    out = []
    found: list[Any] = list((await session.execute(query)).all())
    for ticket, rating in found:
        out.append(
            (
                ticket.number,
                directory.name(ticket.department) if ticket.department else texts.DISPATCH_NAME,
                rating.round,
                format_time(rating.created_at),
                mask_text(rating.reason or ""),
                texts.STATUS_NAMES.get(ticket.status, ticket.status),
            )
        )
    return out
