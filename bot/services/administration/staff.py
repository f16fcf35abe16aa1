"""Administration of staff chats and staff: bind a chat to a department (or the dispatch
chat, 总平台) and register its members; admins only, or `huiyin staff add`."""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from bot import texts
from bot.services.context import Person, Services
from bot.services.handling import routing
from bot.services.handling.routing import STAFF_CHAT
from bot.services.notices.messages import reply
from bot.services.tickets import remember_user
from storage.chats import Place
from storage.models import BoundChat, DepartmentMember, StaffMember
from storage.outbox import insert_ignore


async def bind_staff_chat(
    services: Services,
    person: Person,
    chat_id: int,
    title: str,
    message_id: int,
    department_name: str = "",
    thread_id: int | None = None,
) -> bool:
    """Bind this group as a department's staff chat, or as the dispatch chat (总平台) when no
    department is named (admins only); return whether it was bound. Sent inside a forum
    topic, the binding is that topic (the bot posts there): one forum group may hold several
    departments, each in its own topic."""
    allowed = services.is_admin(person.id)
    department = services.directory.find(department_name) if department_name.strip() else None
    async with services.sessions.begin() as session:
        if not allowed:
            text = texts.ADMIN_ONLY
        elif department_name.strip() and department is None:
            allowed = False
            text = texts.UNKNOWN_DEPARTMENT.format(name=department_name.strip()[:40])
        else:
            code = department.code if department else routing.DISPATCH
            # A group is a grid group or staff chats, not both: binding it here ends the other.
            await session.execute(
                delete(BoundChat).where(BoundChat.chat_id == chat_id, BoundChat.kind != STAFF_CHAT)
            )
            await insert_ignore(
                session,
                BoundChat,
                {
                    "chat_id": chat_id,
                    "thread_id": thread_id or 0,
                    "kind": STAFF_CHAT,
                    "title": title[:255],
                    "name": code,
                    "bound_by": person.id,
                    "created_at": services.clock(),
                },
                ["chat_id", "thread_id"],
            )
            bound = await session.get(BoundChat, (chat_id, thread_id or 0))
            assert bound is not None
            bound.kind = STAFF_CHAT
            bound.name = code
            routing.forget_chats(session)
            text = (
                texts.DEPT_CHAT_BOUND.format(name=department.name, level=department.level)
                if department
                else texts.STAFF_CHAT_BOUND
            )
        await reply(session, chat_id=chat_id, message_id=message_id, text=text)
    services.wake()
    if allowed:
        services.chat_changed(chat_id)
    return allowed


async def add_staff(
    services: Services,
    admin: Person,
    target: Person | None,
    chat_id: int | Place,
    message_id: int,
) -> bool:
    """Register `target` as staff of the department bound to this chat or forum topic (admins
    only); return whether it was added."""
    added = False
    async with services.sessions.begin() as session:
        if not services.is_admin(admin.id):
            text = texts.ADMIN_ONLY
        elif target is None:
            text = texts.ADD_STAFF_USAGE
        else:
            department = await routing.chat_department(session, chat_id) or routing.DISPATCH
            await register_staff(session, target, added_by=admin.id, department=department)
            added = True
            text = (
                texts.STAFF_ADDED_DEPT.format(
                    name=target.display_name, department=services.directory.name(department)
                )
                if department
                else texts.STAFF_ADDED.format(name=target.display_name)
            )
        await reply(session, chat_id=chat_id, message_id=message_id, text=text)
    services.wake()
    return added


async def register_staff(
    session: AsyncSession,
    person: Person,
    added_by: int | None,
    department: str = routing.DISPATCH,
) -> None:
    """Register a member of staff of a department ("" is the dispatch chat, 总平台); used by
    /add_staff and `huiyin staff add`."""
    await remember_user(session, person, started=None)
    await insert_ignore(
        session,
        StaffMember,
        {"user_id": person.id, "display_name": person.display_name[:128], "added_by": added_by},
        ["user_id"],
    )
    await insert_ignore(
        session,
        DepartmentMember,
        {"user_id": person.id, "department": department, "added_by": added_by},
        ["user_id", "department"],
    )
