"""Staff use cases: bind the staff chat, register staff, accept, resolve and return tickets."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bot import texts
from bot.domain import (
    Action,
    IllegalTransition,
    NotAllowed,
    Role,
    Status,
    check_transition,
)
from bot.services import answers
from bot.services.context import Person, Services
from bot.services.tickets import (
    STAFF_CHAT,
    deadline_text,
    load_ticket,
    notify_reporter,
    record_event,
    refresh_cards,
    remember_user,
    reply,
)
from storage.models import BoundChat, StaffMember
from storage.outbox import enqueue, insert_ignore


@dataclass(frozen=True, slots=True)
class ButtonAnswer:
    """The short answer shown to whoever pressed a button."""

    text: str
    alert: bool = False


async def is_staff(session: AsyncSession, user_id: int) -> bool:
    """Tell whether this user is registered staff."""
    return await session.get(StaffMember, user_id) is not None


async def bind_staff_chat(
    services: Services, person: Person, chat_id: int, title: str, message_id: int
) -> bool:
    """Make this group the staff chat (admins only); return whether it was bound."""
    allowed = services.is_admin(person.id)
    async with services.sessions.begin() as session:
        if allowed:
            await insert_ignore(
                session,
                BoundChat,
                {
                    "chat_id": chat_id,
                    "kind": STAFF_CHAT,
                    "title": title[:255],
                    "bound_by": person.id,
                    "created_at": services.clock(),
                },
                ["chat_id"],
            )
            bound = await session.get(BoundChat, chat_id)
            assert bound is not None
            bound.kind = STAFF_CHAT
        text = texts.STAFF_CHAT_BOUND if allowed else texts.ADMIN_ONLY
        await reply(session, chat_id=chat_id, message_id=message_id, text=text)
    services.wake()
    return allowed


async def add_staff(
    services: Services, admin: Person, target: Person | None, chat_id: int, message_id: int
) -> bool:
    """Register `target` as staff (admins only); return whether it was added."""
    async with services.sessions.begin() as session:
        if not services.is_admin(admin.id):
            text = texts.ADMIN_ONLY
        elif target is None:
            text = texts.ADD_STAFF_USAGE
        else:
            await register_staff(session, target, added_by=admin.id)
            text = texts.STAFF_ADDED.format(name=target.display_name)
        await reply(session, chat_id=chat_id, message_id=message_id, text=text)
    services.wake()
    return text.startswith(texts.STAFF_ADDED[:3])


async def register_staff(session: AsyncSession, person: Person, added_by: int | None) -> None:
    """Insert or refresh a staff row (used by /add_staff and `huiyin staff add`)."""
    await remember_user(session, person, started=None)
    await insert_ignore(
        session,
        StaffMember,
        {"user_id": person.id, "display_name": person.display_name[:128], "added_by": added_by},
        ["user_id"],
    )


async def press(
    services: Services, person: Person, chat_id: int, action_name: str, ticket_id: int
) -> ButtonAnswer:
    """Handle a staff button: accept at once, or ask for the note a resolve/return needs."""
    try:
        action = Action(action_name)
    except ValueError:
        return ButtonAnswer(texts.ALERT_INVALID, alert=True)
    if action not in (Action.ACCEPT, Action.RESOLVE, Action.RETURN):
        return ButtonAnswer(texts.ALERT_INVALID, alert=True)
    now = services.clock()
    async with services.sessions.begin() as session:
        if not await is_staff(session, person.id):
            return ButtonAnswer(texts.ALERT_NOT_STAFF, alert=True)
        ticket = await load_ticket(session, ticket_id, lock=True)
        status = Status(ticket.status)
        try:
            transition = check_transition(status, action, Role.STAFF)
        except (IllegalTransition, NotAllowed):
            return ButtonAnswer(
                texts.ALERT_ILLEGAL.format(
                    number=ticket.number,
                    status=texts.STATUS_NAMES[status],
                    action=texts.ACTION_NAMES[action],
                ),
                alert=True,
            )
        if action == Action.ACCEPT:
            event = await record_event(
                session,
                ticket,
                actor_id=person.id,
                role=Role.STAFF,
                action=action.value,
                to_status=transition.target,
                note=None,
                at=now,
            )
            await refresh_cards(session, ticket, event.id)
            await notify_reporter(
                session,
                ticket,
                f"accepted:{event.id}",
                texts.NOTIFY_ACCEPTED.format(number=ticket.number, deadline=deadline_text(ticket)),
            )
            answer = ButtonAnswer(texts.ALERT_ACCEPTED.format(number=ticket.number))
        else:
            kind = answers.RESOLVE_NOTE if action == Action.RESOLVE else answers.RETURN_REASON
            await answers.ask(
                services,
                session,
                person_id=person.id,
                chat_id=chat_id,
                kind=kind,
                ticket=ticket,
                now=now,
            )
            prompt = (
                texts.ASK_RESOLVE_NOTE if action == Action.RESOLVE else texts.ASK_RETURN_REASON
            )
            await enqueue(
                session,
                key=f"ask:{kind}:{ticket.id}:{person.id}:{now.timestamp()}",
                chat_id=chat_id,
                text=prompt.format(number=ticket.number),
                reply_markup={"force_reply": True, "selective": False},
                purpose="prompt",
                ticket_id=ticket.id,
            )
            answer = ButtonAnswer(
                texts.ALERT_ASKED.format(what=texts.ACTION_NAMES[action] + "说明")
            )
    services.wake()
    return answer


async def handle_staff_chat_text(
    services: Services, person: Person, chat_id: int, message_id: int, text: str
) -> bool:
    """Take a staff member's message in a staff chat as the answer to a pending question."""
    from bot.services.reports import clean_text

    now = services.clock()
    body = clean_text(text)[: services.max_text_length]
    async with services.sessions.begin() as session:
        if not await is_staff(session, person.id):
            return False
        taken = await answers.take_answer(
            services, session, person, chat_id, message_id, body, now
        )
    if taken:
        services.wake()
    return taken


async def is_staff_chat(services: Services, chat_id: int) -> bool:
    """Tell whether this chat is bound as a staff chat."""
    async with services.sessions() as session:
        bound = await session.get(BoundChat, chat_id)
        return bound is not None and bound.kind == STAFF_CHAT
