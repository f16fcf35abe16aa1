"""The bot's own membership of groups: added, removed, and a group upgraded to a supergroup."""

from __future__ import annotations

import logging

from sqlalchemy import delete, select, update

from bot import texts
from bot.domain import ChatKind
from bot.intents import Notice
from bot.services.context import Services
from bot.services.handling import routing
from bot.services.intake.groups import GRID_CHAT
from storage.chats import Place, bindings_of, move_chat
from storage.models import BoundChat, GridWorker, OutboxMessage, OutboxStatus
from storage.outbox import enqueue

log = logging.getLogger("huiyin.chats")


async def bot_added(
    services: Services, chat_id: int, *, can_read_posts: bool, update_id: int
) -> None:
    """Greet a group the bot was added to with how to set it up, and warn loudly when the
    bot cannot read the group's posts (privacy mode on and not an administrator)."""
    async with services.sessions.begin() as session:
        text = texts.ADDED_TO_GROUP
        if not can_read_posts:
            text += "\n\n" + texts.CANNOT_READ_GROUP
        await enqueue(
            session, key=f"added:{chat_id}:{update_id}", chat_id=chat_id, intent=Notice(text)
        )
    services.wake()


async def bot_removed(services: Services, chat_id: int, title: str, update_id: int) -> bool:
    """End every binding of a group the bot was removed from (each department's topic, or
    its grid), drop what waits to be sent there, and tell the dispatch chat (or the admins,
    when it was the dispatch chat); return whether the group was bound."""
    async with services.sessions.begin() as session:
        bindings = await bindings_of(session, chat_id)
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.chat_id == chat_id, OutboxMessage.status == OutboxStatus.PENDING)
            .values(
                status=OutboxStatus.UNDELIVERABLE, last_error="the bot was removed from the group"
            )
        )
        if not bindings:
            return False
        what = []
        for bound in bindings:
            if bound.kind == GRID_CHAT:
                what.append(texts.REMOVED_GRID.format(name=bound.name))
            else:
                department = services.directory.get(bound.name)
                what.append(
                    texts.REMOVED_STAFF.format(
                        name=department.name if department else texts.DISPATCH_NAME
                    )
                )
        await session.execute(delete(GridWorker).where(GridWorker.grid_chat_id == chat_id))
        await session.execute(delete(BoundChat).where(BoundChat.chat_id == chat_id))
        routing.forget_chats(session)
        notice = texts.BOT_REMOVED_NOTICE.format(
            title=title or bindings[0].title, what="、".join(dict.fromkeys(what))
        )
        targets = [c for c in await routing.dispatch_chat_ids(session) if c.chat_id != chat_id]
        for target in targets or [Place(admin) for admin in sorted(services.admin_ids)]:
            await enqueue(
                session, key=f"removed:{chat_id}:{update_id}:{target}", chat_id=target,
                intent=Notice(notice),
            )  # fmt: skip
    log.warning("removed from bound chat %s; its binding ended", chat_id)
    services.wake()
    services.chat_changed(chat_id)
    return True


async def chat_migrated(services: Services, old: int, new: int) -> int:
    """Move every stored reference from a group to the supergroup it became, in one
    transaction (waiting messages follow); return how many rows moved."""
    async with services.sessions.begin() as session:
        moved = await move_chat(session, old, new)
        routing.forget_chats(session)
    if moved:
        log.info("chat %s became supergroup %s: %s rows moved", old, new, moved)
        services.wake()
        services.chat_changed(new)
    return moved


async def chat_kinds(services: Services, chat_ids: list[int]) -> dict[int, ChatKind | None]:
    """What each chat is bound as now (a staff chat or a grid group), None for unbound."""
    async with services.sessions() as session:
        rows = await session.execute(
            select(BoundChat.chat_id, BoundChat.kind).where(BoundChat.chat_id.in_(chat_ids))
        )
        bound: dict[int, ChatKind] = {chat_id: kind for chat_id, kind in rows.all()}
    return {chat_id: bound.get(chat_id) for chat_id in chat_ids}


async def bound_chat_kinds(services: Services) -> dict[int, ChatKind | None]:
    """Every bound chat and what it is bound as (for their menus at start-up)."""
    async with services.sessions() as session:
        rows = await session.execute(select(BoundChat.chat_id, BoundChat.kind))
        return {chat_id: kind for chat_id, kind in rows.all()}
