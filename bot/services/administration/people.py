"""People over time: list and remove staff, grid workers, blocks, bindings and admins."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import texts
from bot.privacy import mask_id
from bot.services.context import Person, Services
from bot.services.handling import routing
from bot.services.intake.groups import GRID_CHAT
from bot.services.notices.messages import reply
from bot.services.tickets import remember_user
from storage.chats import Place, binding_for, place_of
from storage.models import (
    Admin,
    BlockedUser,
    BoundChat,
    DepartmentMember,
    GridWorker,
    StaffMember,
    User,
    utcnow,
)
from storage.outbox import insert_ignore


@dataclass(frozen=True, slots=True)
class Someone:
    """A person as the lists show them: id, name and where they belong."""

    user_id: int
    name: str
    where: tuple[str, ...] = ()


# --- admins -----------------------------------------------------------------------------


async def seed_admins(session: AsyncSession, ids: frozenset[int]) -> None:
    """Make sure everyone named in HUIYIN_ADMIN_IDS is an admin in the database."""
    for user_id in sorted(ids):
        await insert_ignore(
            session, Admin, {"user_id": user_id, "added_by": None, "created_at": utcnow()},
            ["user_id"],
        )  # fmt: skip


async def admin_ids(session: AsyncSession) -> frozenset[int]:
    """Everyone who administers the bot now."""
    return frozenset((await session.execute(select(Admin.user_id))).scalars())


async def refresh_admins(services: Services) -> None:
    """Reload the admins (another instance or the CLI may have changed them)."""
    async with services.sessions() as session:
        services.admin_ids = await admin_ids(session)


async def add_admin(session: AsyncSession, user_id: int, added_by: int | None) -> bool:
    """Make someone an admin; return whether they were not one already."""
    return await insert_ignore(
        session, Admin, {"user_id": user_id, "added_by": added_by, "created_at": utcnow()},
        ["user_id"],
    )  # fmt: skip


async def remove_admin(session: AsyncSession, user_id: int) -> bool:
    """Remove an admin; return whether they were one."""
    result = await session.execute(delete(Admin).where(Admin.user_id == user_id))
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def list_admins(session: AsyncSession) -> list[Someone]:
    """Every admin with the name the bot knows them by."""
    rows = await session.execute(
        select(Admin.user_id, User.first_name)
        .outerjoin(User, User.id == Admin.user_id)
        .order_by(Admin.user_id)
    )
    return [Someone(uid, name or "") for uid, name in rows.all()]


# --- staff, workers, blocks -------------------------------------------------------------


async def list_staff(session: AsyncSession, department: str | None = None) -> list[Someone]:
    """Members of staff (of one department when given) with their departments."""
    rows = await session.execute(
        select(StaffMember.user_id, StaffMember.display_name, DepartmentMember.department)
        .outerjoin(DepartmentMember, DepartmentMember.user_id == StaffMember.user_id)
        .order_by(StaffMember.user_id)
    )
    found: dict[int, tuple[str, list[str]]] = {}
    for uid, name, dept in rows.all():
        entry = found.setdefault(uid, (name, []))
        if dept is not None:
            entry[1].append(dept)
    return [
        Someone(uid, name, tuple(depts))
        for uid, (name, depts) in found.items()
        if department is None or department in depts
    ]


async def remove_staff(session: AsyncSession, user_id: int, department: str | None = None) -> bool:
    """Take someone off a department's staff (off all staff when no department is given, or
    when it was their last); return whether anything was removed."""
    where = [DepartmentMember.user_id == user_id]
    if department is not None:
        where.append(DepartmentMember.department == department)
    result = await session.execute(delete(DepartmentMember).where(*where))
    removed = bool(result.rowcount)  # type: ignore[attr-defined]
    left = await session.scalar(
        select(DepartmentMember.user_id).where(DepartmentMember.user_id == user_id).limit(1)
    )
    if left is None:
        gone = await session.execute(delete(StaffMember).where(StaffMember.user_id == user_id))
        removed = removed or bool(gone.rowcount)  # type: ignore[attr-defined]
    return removed


async def list_workers(session: AsyncSession, grid_chat_id: int | None = None) -> list[Someone]:
    """Grid workers (of one grid group when given) with their grid's name."""
    stmt = (
        select(GridWorker.user_id, GridWorker.display_name, BoundChat.name)
        .join(
            BoundChat,
            and_(BoundChat.chat_id == GridWorker.grid_chat_id, BoundChat.kind == GRID_CHAT),
        )
        .order_by(GridWorker.grid_chat_id, GridWorker.user_id)
    )
    if grid_chat_id is not None:
        stmt = stmt.where(GridWorker.grid_chat_id == grid_chat_id)
    return [Someone(uid, name, (grid,)) for uid, name, grid in (await session.execute(stmt)).all()]


async def remove_worker(session: AsyncSession, grid_chat_id: int | None, user_id: int) -> bool:
    """Take someone off one grid's workers (off every grid when no grid is given)."""
    stmt = delete(GridWorker).where(GridWorker.user_id == user_id)
    if grid_chat_id is not None:
        stmt = stmt.where(GridWorker.grid_chat_id == grid_chat_id)
    return bool((await session.execute(stmt)).rowcount)  # type: ignore[attr-defined]


async def list_blocked(session: AsyncSession) -> list[Someone]:
    """Everyone blocked from filing reports."""
    rows = await session.execute(
        select(BlockedUser.user_id, User.first_name)
        .outerjoin(User, User.id == BlockedUser.user_id)
        .order_by(BlockedUser.user_id)
    )
    return [Someone(uid, name or "") for uid, name in rows.all()]


async def unblock(session: AsyncSession, user_id: int) -> bool:
    """Let a blocked person file reports again; return whether they were blocked."""
    result = await session.execute(delete(BlockedUser).where(BlockedUser.user_id == user_id))
    return bool(result.rowcount)  # type: ignore[attr-defined]


# --- from chat --------------------------------------------------------------------------


async def _answer(services: Services, chat_id: int | Place, message_id: int, text: str) -> None:
    async with services.sessions.begin() as session:
        await reply(session, chat_id=chat_id, message_id=message_id, text=text)
    services.wake()


async def remove_by_reply(
    services: Services,
    admin: Person,
    target: Person | None,
    chat_id: int | Place,
    message_id: int,
    *,
    what: str,
) -> bool:
    """An admin replies /remove_staff, /remove_worker, /unblock, /add_admin or /remove_admin
    to someone's message; return whether anything changed."""
    if not services.is_admin(admin.id):
        await _answer(services, chat_id, message_id, texts.ADMIN_ONLY)
        return False
    if target is None:
        await _answer(services, chat_id, message_id, texts.PEOPLE_USAGE[what])
        return False
    async with services.sessions.begin() as session:
        if what == "remove_staff":
            department = await routing.chat_department(session, chat_id)
            changed = await remove_staff(session, target.id, department)
        elif what == "remove_worker":
            changed = await remove_worker(session, place_of(chat_id).chat_id, target.id)
        elif what == "unblock":
            changed = await unblock(session, target.id)
        elif what == "add_admin":
            await remember_user(session, target, started=None)
            changed = await add_admin(session, target.id, admin.id)
        else:
            changed = target.id != admin.id and await remove_admin(session, target.id)
        template = texts.PEOPLE_DONE[what] if changed else texts.PEOPLE_UNCHANGED[what]
        await reply(
            session, chat_id=chat_id, message_id=message_id,
            text=template.format(name=target.display_name),
        )  # fmt: skip
        if what.endswith("_admin") and changed:
            services.admin_ids = await admin_ids(session)
    services.wake()
    return changed


async def unbind(
    services: Services, admin: Person, chat_id: int | Place, message_id: int
) -> bool:
    """An admin sends /unbind in a bound group (or in a department's forum topic): that
    binding ends; the group's other departments keep theirs. Return whether one ended."""
    unbound = False
    async with services.sessions.begin() as session:
        bound = await binding_for(session, chat_id)
        if not services.is_admin(admin.id):
            text = texts.ADMIN_ONLY
        elif bound is None:
            text = texts.NOT_BOUND
        else:
            if bound.kind == GRID_CHAT:
                await session.execute(
                    delete(GridWorker).where(GridWorker.grid_chat_id == bound.chat_id)
                )
            await session.delete(bound)
            routing.forget_chats(session)
            text, unbound = texts.UNBOUND, True
        await reply(session, chat_id=chat_id, message_id=message_id, text=text)
    services.wake()
    if unbound:
        services.chat_changed(place_of(chat_id).chat_id)
    return unbound


async def show_people(
    services: Services, person: Person, chat_id: int | Place, message_id: int
) -> None:
    """/people in a group: this chat's (or forum topic's) staff or grid workers (admins also
    see admins and blocked people)."""
    async with services.sessions.begin() as session:
        bound = await binding_for(session, chat_id)
        groups: list[tuple[str, list[Someone]]] = []
        if bound is not None and bound.kind == GRID_CHAT:
            workers = await list_workers(session, bound.chat_id)
            groups.append((texts.PEOPLE_WORKERS.format(name=bound.name), workers))
        elif bound is not None:
            name = services.directory.name(bound.name)
            groups.append(
                (texts.PEOPLE_STAFF.format(name=name), await list_staff(session, bound.name))
            )
        if services.is_admin(person.id):
            groups.append((texts.PEOPLE_ADMINS, await list_admins(session)))
            blocked = await list_blocked(session)
            if blocked:
                groups.append((texts.PEOPLE_BLOCKED, blocked))
        lines = [
            line
            for header, people in groups
            for line in [
                header,
                *(
                    texts.PEOPLE_LINE.format(name=p.name or "？", id=mask_id(p.user_id))
                    for p in people
                ),
            ]
        ]
        text = "\n".join(lines)[:4000] if lines else texts.NOT_BOUND
        await reply(session, chat_id=chat_id, message_id=message_id, text=text)
    services.wake()
