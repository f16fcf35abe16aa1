"""/help: what this person can do in this chat, by their roles (resident, staff, worker, admin)."""

from __future__ import annotations

from sqlalchemy import select

from bot import texts
from bot.intents import Notice
from bot.services.context import Person, Services
from bot.services.handling.routing import DISPATCH, STAFF_CHAT
from bot.services.intake.groups import GRID_CHAT
from bot.services.notices.messages import reply
from bot.services.tickets import remember_user
from storage.chats import Place, binding_for, place_of
from storage.models import GridWorker, StaffMember
from storage.outbox import enqueue


async def private_help(services: Services, who: Person, message_id: int) -> None:
    """Answer /help in a private chat: the resident's guide plus each role this person has."""
    async with services.sessions.begin() as session:
        await remember_user(session, who, started=services.clock())
        text = texts.HELP
        if await session.get(StaffMember, who.id) is not None:
            text += texts.HELP_STAFF_PRIVATE
        worker = await session.scalar(
            select(GridWorker.grid_chat_id).where(GridWorker.user_id == who.id).limit(1)
        )
        if worker is not None:
            text += texts.HELP_WORKER_PRIVATE
        if services.is_admin(who.id):
            text += texts.HELP_ADMIN_PRIVATE
        await reply(session, chat_id=who.id, message_id=message_id, text=text)
    services.wake()


async def group_help(
    services: Services, who: Person, where: int | Place, message_id: int
) -> None:
    """Answer /help in a group: what this chat (or forum topic) is for and what this person
    may do in it."""
    chat_id = place_of(where).chat_id
    async with services.sessions.begin() as session:
        bound = await binding_for(session, where)
        if bound is not None and bound.kind == STAFF_CHAT:
            department = services.directory.get(bound.name) if bound.name != DISPATCH else None
            name = department.name if department else texts.DISPATCH_NAME
            staff = await session.get(StaffMember, who.id) is not None
            text = (texts.HELP_STAFF_CHAT if staff else texts.HELP_STAFF_CHAT_NOT_STAFF).format(
                name=name
            )
        elif bound is not None and bound.kind == GRID_CHAT:
            text = texts.HELP_GRID.format(name=bound.name)
            if await session.get(GridWorker, (chat_id, who.id)) is not None or services.is_admin(
                who.id
            ):
                text += texts.HELP_GRID_WORKER
        else:
            text = texts.HELP_UNBOUND
        if services.is_admin(who.id) and bound is not None:
            text += texts.HELP_ADMIN_GROUP
        # A reply lands in the forum topic of the message it answers.
        await enqueue(
            session,
            key=f"reply:{chat_id}:{message_id}",
            chat_id=chat_id,
            intent=Notice(text, reply_to=message_id),
        )
    services.wake()
