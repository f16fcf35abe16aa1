"""Staff views in their chat: /queue (open tickets by deadline), /overdue, /ticket (timeline)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import texts
from bot.domain import OPEN_STATUSES, Status, parse_ticket_number
from bot.privacy import mask_name, mask_text
from bot.services.context import Person, Services
from bot.services.handling import evidence, routing
from bot.services.notices.cards import render_card
from bot.services.notices.messages import reply
from bot.services.tickets import find_by_number, format_time
from storage.chats import Place, grid_binding, place_of
from storage.models import (
    BoundChat,
    DepartmentMember,
    GridWorker,
    StaffMember,
    Ticket,
    TicketAssist,
    TicketEvent,
    User,
)

LIMIT = 30
_OPEN = [s.value for s in OPEN_STATUSES]


async def _where(
    services: Services, session: AsyncSession, person: Person, chat_id: int | Place
) -> tuple[str | None, str]:
    """The department this chat works for, if the person may see it, and the refusal if not."""
    department = await routing.chat_department(session, chat_id)
    if department is None:
        return None, texts.NOT_A_STAFF_CHAT
    member_of = await routing.memberships(session, person.id)
    if department not in member_of and routing.DISPATCH not in member_of:
        return None, texts.ALERT_NOT_STAFF
    return department, ""


def _name(services: Services, department: str) -> str:
    return services.directory.name(department) if department else texts.DISPATCH_NAME


def _held_by(department: str) -> Select[Ticket]:
    """Open tickets the department holds; for 总平台, the unassigned and the chat-less ones."""
    stmt = select(Ticket).where(Ticket.status.in_(_OPEN))
    if department:
        return stmt.where(Ticket.department == department)
    with_chats = select(BoundChat.name).where(
        BoundChat.kind == routing.STAFF_CHAT, BoundChat.name != routing.DISPATCH
    )
    return stmt.where(
        or_(
            Ticket.department.is_(None),
            Ticket.department.not_in(with_chats),
            Ticket.status == Status.EXTENDING.value,
        )
    )


def _line(ticket: Ticket, now_flag: bool) -> str:
    flag = "⚠️" if now_flag else ""
    if ticket.resolution_round > 0:
        flag += "🔁"
    return texts.QUEUE_LINE.format(
        flag=flag,
        number=ticket.number,
        status=texts.STATUS_NAMES[ticket.status],
        category=ticket.category.split("/")[-1] if ticket.category else "其他",
        deadline=format_time(ticket.deadline_at),
    )


async def _lines(session: AsyncSession, stmt: Select[Ticket], now_at: datetime) -> list[str]:
    count = (await session.execute(select(func.count()).select_from(stmt.subquery()))).scalar_one()
    rows = (await session.execute(stmt.order_by(Ticket.deadline_at).limit(LIMIT))).scalars()
    lines = [_line(t, t.deadline_at <= now_at) for t in rows]
    if count > LIMIT:
        lines.append(texts.QUEUE_MORE.format(count=count - LIMIT))
    return lines


async def show_queue(
    services: Services,
    person: Person,
    chat_id: int | Place,
    message_id: int,
    *,
    overdue: bool = False,
) -> None:
    """Answer /queue (or /overdue): a staff chat's department's open tickets, a grid group's."""
    now = services.clock()
    async with services.sessions.begin() as session:
        department, refusal = await _where(services, session, person, chat_id)
        grid = await _grid_view(
            services, session, person, place_of(chat_id).chat_id, now, overdue=overdue
        )
        if department is None and grid is not None:
            text = grid
        elif department is None:
            text = refusal
        else:
            name = _name(services, department)
            held = _held_by(department)
            if overdue:
                if not department:  # 总平台 supervises everyone
                    held = select(Ticket).where(Ticket.status.in_(_OPEN))
                lines = await _lines(session, held.where(Ticket.deadline_at <= now), now)
                header, empty = texts.OVERDUE_HEADER, texts.OVERDUE_EMPTY
            else:
                lines = await _lines(session, held.where(Ticket.resolution_round == 0), now)
                reopened = await _lines(session, held.where(Ticket.resolution_round > 0), now)
                if reopened:
                    lines += [texts.QUEUE_REOPENED, *reopened]
                if department:
                    helping = select(Ticket).where(
                        Ticket.status.in_(_OPEN),
                        Ticket.id.in_(
                            select(TicketAssist.ticket_id).where(
                                TicketAssist.department == department
                            )
                        ),
                    )
                    assisting = await _lines(session, helping, now)
                    if assisting:
                        lines += [texts.QUEUE_ASSISTING, *assisting]
                header, empty = texts.QUEUE_HEADER, texts.QUEUE_EMPTY
            text = (
                "\n".join([header.format(name=name), *lines]) if lines else empty.format(name=name)
            )
        await reply(session, chat_id=chat_id, message_id=message_id, text=text[:4000])
    services.wake()


async def _grid_view(
    services: Services,
    session: AsyncSession,
    person: Person,
    chat_id: int,
    now: datetime,
    *,
    overdue: bool,
) -> str | None:
    """/queue in a grid group: the grid's open tickets (numbers, categories, deadlines only,
    no personal data) for its grid workers; None when the chat is not a grid group."""
    grid = await grid_binding(session, chat_id)
    if grid is None:
        return None
    worker = await session.get(GridWorker, (chat_id, person.id))
    if worker is None and not services.is_admin(person.id):
        return texts.ONLY_WORKERS_VIEW
    stmt = select(Ticket).where(Ticket.status.in_(_OPEN), Ticket.grid_chat_id == chat_id)
    if overdue:
        stmt = stmt.where(Ticket.deadline_at <= now)
    lines = await _lines(session, stmt, now)
    header, empty = (
        (texts.OVERDUE_HEADER, texts.OVERDUE_EMPTY)
        if overdue
        else (texts.QUEUE_HEADER, texts.QUEUE_EMPTY)
    )
    name = grid.name or grid.title
    return "\n".join([header.format(name=name), *lines]) if lines else empty.format(name=name)


async def _visible(session: AsyncSession, ticket: Ticket, department: str) -> bool:
    if not department or ticket.department == department:
        return True
    assist = await session.get(TicketAssist, (ticket.id, department))
    if assist is not None:
        return True
    handled = await session.execute(
        select(TicketEvent.id)
        .where(
            TicketEvent.ticket_id == ticket.id,
            TicketEvent.actor_id.in_(
                select(DepartmentMember.user_id).where(DepartmentMember.department == department)
            ),
        )
        .limit(1)
    )
    return handled.first() is not None


async def show_ticket(
    services: Services, person: Person, chat_id: int | Place, message_id: int, arg: str
) -> None:
    """Answer /ticket 编号 in a staff chat: the card and the full timeline."""
    async with services.sessions.begin() as session:
        department, refusal = await _where(services, session, person, chat_id)
        number = parse_ticket_number(arg)
        ticket = await find_by_number(session, number) if number else None
        if department is None:
            text = refusal
        elif number is None:
            text = texts.TICKET_USAGE
        elif ticket is None or not await _visible(session, ticket, department):
            text = texts.TICKET_NOT_VISIBLE.format(number=number)
        else:
            card, _ = await render_card(session, ticket)
            text = card + texts.TIMELINE_HEADER + "\n" + "\n".join(await timeline(session, ticket))
            # The evidence follows the answer, so staff looking the ticket up see it here too.
            await evidence.show_evidence(
                session, ticket, [place_of(chat_id)], tag=f":t{message_id}"
            )
        await reply(session, chat_id=chat_id, message_id=message_id, text=text[:4000])
    services.wake()


async def timeline(session: AsyncSession, ticket: Ticket) -> list[str]:
    """Every audit row of a ticket, oldest first, as lines staff read."""
    rows = await session.execute(
        select(TicketEvent, StaffMember.display_name, User.first_name)
        .outerjoin(StaffMember, StaffMember.user_id == TicketEvent.actor_id)
        .outerjoin(User, and_(User.id == TicketEvent.actor_id, TicketEvent.role == "reporter"))
        .where(TicketEvent.ticket_id == ticket.id)
        .order_by(TicketEvent.id)
    )
    lines = []
    for event, staff_name, user_name in rows.all():
        who = staff_name or (mask_name(user_name) if user_name else "")
        who = who or ("系统" if event.role == "system" else "")
        change = ""
        if event.from_status and event.from_status != event.to_status:
            change = (
                f"（{texts.STATUS_NAMES.get(event.from_status, event.from_status)}→"
                f"{texts.STATUS_NAMES.get(event.to_status, event.to_status)}）"
            )
        lines.append(
            texts.TIMELINE_LINE.format(
                time=format_time(event.created_at),
                action=texts.EVENT_NAMES.get(event.action, event.action),
                who=f"｜{who}" if who else "",
                change=change,
                note=_readable_note(event),
            )
        )
    return lines


def _readable_note(event: TicketEvent) -> str:
    """The note of an audit row as staff read it (no raw file ids)."""
    if event.action == "attach_photo":
        return f"｜{texts.TIMELINE_PHOTO}"
    if event.action == "attach_location" and event.note:
        try:
            latitude, longitude = (float(v) for v in event.note.split(","))
        except ValueError:
            return ""
        return f"｜{texts.TIMELINE_PLACE.format(latitude=latitude, longitude=longitude)}"
    return f"｜{mask_text(event.note)[:200]}" if event.note else ""
