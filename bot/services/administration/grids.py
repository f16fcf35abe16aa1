"""Administration of grid groups: bind a group to a grid, register its grid workers, block a
user from filing (admins only, or `huiyin worker add`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from bot import texts
from bot.services.context import Person, Services, clean_text
from bot.services.intake.groups import GRID_CHAT, grid_of
from bot.services.notices.messages import reply
from bot.services.tickets import remember_user
from storage.chats import Place, place_of
from storage.models import BlockedUser, BoundChat, GridWorker
from storage.outbox import insert_ignore


async def bind_grid(
    services: Services, admin: Person, chat_id: int, title: str, name: str, message_id: int
) -> bool:
    """Make this group a grid group called `name` (admins only); return whether it was bound."""
    name = clean_text(name)[:64]
    bound_now = False
    async with services.sessions.begin() as session:
        if not services.is_admin(admin.id):
            text = texts.ADMIN_ONLY
        elif not name:
            text = texts.BIND_GRID_USAGE
        else:
            # A grid group is bound as a whole: it ends any staff binding of the group.
            await session.execute(
                delete(BoundChat).where(BoundChat.chat_id == chat_id, BoundChat.thread_id != 0)
            )
            await insert_ignore(
                session,
                BoundChat,
                {
                    "chat_id": chat_id,
                    "thread_id": 0,
                    "kind": GRID_CHAT,
                    "title": title[:255],
                    "name": name,
                    "bound_by": admin.id,
                    "created_at": services.clock(),
                },
                ["chat_id", "thread_id"],
            )
            bound = await session.get(BoundChat, (chat_id, 0))
            assert bound is not None
            bound.kind, bound.name, bound.title = GRID_CHAT, name, title[:255]
            text = texts.GRID_BOUND.format(name=name)
            bound_now = True
        await reply(session, chat_id=chat_id, message_id=message_id, text=text)
    services.wake()
    if bound_now:
        services.chat_changed(chat_id)
    return bound_now


async def add_worker(
    services: Services,
    admin: Person,
    target: Person | None,
    chat_id: int | Place,
    message_id: int,
) -> bool:
    """Register `target` as a grid worker of this grid group (admins only)."""
    chat_id = place_of(chat_id).chat_id
    added = False
    async with services.sessions.begin() as session:
        grid = await grid_of(session, chat_id)
        if not services.is_admin(admin.id):
            text = texts.ADMIN_ONLY
        elif grid is None:
            text = texts.NOT_A_GRID
        elif target is None:
            text = texts.ADD_WORKER_USAGE
        else:
            await register_worker(session, grid, target, added_by=admin.id, at=services.clock())
            text = texts.WORKER_ADDED.format(name=target.display_name, grid=grid.name)
            added = True
        await reply(session, chat_id=chat_id, message_id=message_id, text=text)
    services.wake()
    return added


async def register_worker(
    session: AsyncSession, grid: BoundChat, person: Person, *, added_by: int | None, at: datetime
) -> None:
    """Register a grid worker of `grid` (used by /add_worker and `huiyin worker add`)."""
    await remember_user(session, person, started=None)
    await insert_ignore(
        session,
        GridWorker,
        {
            "grid_chat_id": grid.chat_id,
            "user_id": person.id,
            "display_name": person.display_name[:128],
            "added_by": added_by,
            "created_at": at,
        },
        ["grid_chat_id", "user_id"],
    )


async def block_user(
    services: Services,
    admin: Person,
    target: Person | None,
    chat_id: int | Place,
    message_id: int,
) -> bool:
    """Block `target` from filing reports (admins only); return whether they were blocked."""
    blocked = False
    async with services.sessions.begin() as session:
        if not services.is_admin(admin.id):
            text = texts.ADMIN_ONLY
        elif target is None:
            text = texts.BLOCK_USAGE
        else:
            await remember_user(session, target, started=None)
            await insert_ignore(
                session,
                BlockedUser,
                {"user_id": target.id, "blocked_by": admin.id, "created_at": services.clock()},
                ["user_id"],
            )
            text, blocked = texts.BLOCKED_USER, True
        await reply(session, chat_id=chat_id, message_id=message_id, text=text)
    services.wake()
    return blocked
