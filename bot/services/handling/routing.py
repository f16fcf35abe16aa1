"""Who holds a ticket and where its messages go: department chats, the dispatch chat, members."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import texts
from bot.departments import Directory
from bot.domain import ChatKind, Role
from storage.chats import Place, binding_for
from storage.models import BoundChat, DepartmentMember, Ticket, TicketAssist

STAFF_CHAT = ChatKind.STAFF
DISPATCH = ""  # the department key of the dispatch chat (总平台) and of its members


_CACHE = "huiyin_staff_chats"


async def _staff_chats(session: AsyncSession) -> dict[str, list[Place]]:
    """Every staff chat (or topic) by department, read once per transaction (a sweep batch
    asks often)."""
    cached = session.info.get(_CACHE)
    if cached is None:
        rows = await session.execute(
            select(BoundChat.name, BoundChat.chat_id, BoundChat.thread_id)
            .where(BoundChat.kind == STAFF_CHAT)
            .order_by(BoundChat.chat_id, BoundChat.thread_id)
        )
        cached = {}
        for name, chat_id, thread_id in rows.all():
            cached.setdefault(name, []).append(Place(chat_id, thread_id))
        session.info[_CACHE] = cached
    return dict(cached)


def forget_chats(session: AsyncSession) -> None:
    """Drop the transaction's copy of the staff chats (after binding one)."""
    session.info.pop(_CACHE, None)


async def staff_chats(session: AsyncSession) -> dict[str, list[Place]]:
    """Every bound staff chat (or topic), by department ("" is the dispatch chat)."""
    return await _staff_chats(session)


async def department_chats(session: AsyncSession, code: str) -> list[Place]:
    """Return the staff chats (or topics) bound to a department ("" is the dispatch chat)."""
    return list((await _staff_chats(session)).get(code, []))


async def dispatch_chat_ids(session: AsyncSession) -> list[Place]:
    """Return the dispatch chats (总平台)."""
    return await department_chats(session, DISPATCH)


async def any_department_chat(session: AsyncSession) -> bool:
    """Tell whether any department has a staff chat (so there is somewhere to 派单 to)."""
    return any(code != DISPATCH for code in await _staff_chats(session))


async def dispatcher_holds(session: AsyncSession, ticket: Ticket) -> bool:
    """Tell whether the dispatch chat handles the ticket: unassigned, or its department has
    no chat of its own."""
    return ticket.department is None or not await department_chats(session, ticket.department)


async def holder_chats(session: AsyncSession, ticket: Ticket) -> list[Place]:
    """Return the chats of whoever handles the ticket now."""
    if ticket.department is not None:
        chats = await department_chats(session, ticket.department)
        if chats:
            return chats
    return await dispatch_chat_ids(session)


async def supervisor_chats(
    session: AsyncSession, directory: Directory, ticket: Ticket
) -> list[Place]:
    """Return the chats that supervise the holder: its parent department's, else 总平台's."""
    parent = directory.parent(ticket.department)
    while parent is not None:
        chats = await department_chats(session, parent.code)
        if chats:
            return chats
        parent = directory.parent(parent.code)
    return await dispatch_chat_ids(session)


async def assisting(session: AsyncSession, ticket_id: int) -> list[str]:
    """Return the codes of the departments cooperating on a ticket (协办)."""
    rows = await session.execute(
        select(TicketAssist.department)
        .where(TicketAssist.ticket_id == ticket_id)
        .order_by(TicketAssist.created_at, TicketAssist.department)
    )
    return list(rows.scalars())


async def assisting_names(session: AsyncSession, ticket_id: int) -> list[str]:
    """Return the names of the departments cooperating on a ticket (协办)."""
    rows = await session.execute(
        select(TicketAssist.name)
        .where(TicketAssist.ticket_id == ticket_id)
        .order_by(TicketAssist.created_at, TicketAssist.department)
    )
    return list(rows.scalars())


async def memberships(session: AsyncSession, user_id: int) -> set[str]:
    """Return the departments this person works for ("" is the dispatch chat)."""
    rows = await session.execute(
        select(DepartmentMember.department).where(DepartmentMember.user_id == user_id)
    )
    return set(rows.scalars())


async def roles_for(session: AsyncSession, user_id: int, ticket: Ticket) -> frozenset[Role]:
    """Return the roles this person has on this ticket, from the database alone."""
    member_of = await memberships(session, user_id)
    roles: set[Role] = set()
    if ticket.department is not None and ticket.department in member_of:
        roles.add(Role.STAFF)
    if DISPATCH in member_of:
        roles.add(Role.DISPATCHER)
    return frozenset(roles)


async def chat_department(session: AsyncSession, where: int | Place) -> str | None:
    """Return the department a staff chat (or the topic `where` names) is bound to ("" for
    总平台), or None."""
    bound = await binding_for(session, where)
    return bound.name if bound is not None and bound.kind == STAFF_CHAT else None


def holder_name(ticket: Ticket) -> str:
    """Who holds the ticket, as staff read it: its department, or the dispatch chat."""
    return ticket.department_name or texts.DISPATCH_NAME
