"""Staff use cases: bind the staff chat, register staff, accept, resolve and return tickets."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bot import texts
from bot.domain import Action, HuiyinError
from bot.intents import Prompt
from bot.services import gate
from bot.services.context import Person, Services
from bot.services.handling import answers, dispatch, routing
from bot.services.handling.routing import STAFF_CHAT
from bot.services.tickets import (
    deadline_text,
    load_ticket,
    notify_reporter,
    remember_user,
    reply,
)
from storage.models import BoundChat, DepartmentMember, StaffMember, Ticket
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
    services: Services,
    person: Person,
    chat_id: int,
    title: str,
    message_id: int,
    department_name: str = "",
) -> bool:
    """Bind this group as a department's staff chat, or as the dispatch chat (总平台) when no
    department is named (admins only); return whether it was bound."""
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
            await insert_ignore(
                session,
                BoundChat,
                {
                    "chat_id": chat_id,
                    "kind": STAFF_CHAT,
                    "title": title[:255],
                    "name": code,
                    "bound_by": person.id,
                    "created_at": services.clock(),
                },
                ["chat_id"],
            )
            bound = await session.get(BoundChat, chat_id)
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
    return allowed


async def add_staff(
    services: Services, admin: Person, target: Person | None, chat_id: int, message_id: int
) -> bool:
    """Register `target` as staff (admins only); return whether it was added."""
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


async def press(
    services: Services, person: Person, chat_id: int, action_name: str, ticket_id: int
) -> ButtonAnswer:
    """Handle a staff button: act at once (受理, 延期审批) or ask for what the action needs."""
    try:
        action = Action(action_name)
    except ValueError:
        return ButtonAnswer(texts.ALERT_INVALID, alert=True)
    if action not in BUTTON_ACTIONS:
        return ButtonAnswer(texts.ALERT_INVALID, alert=True)
    now = services.clock()
    async with services.sessions.begin() as session:
        if not await is_staff(session, person.id):
            return ButtonAnswer(texts.ALERT_NOT_STAFF, alert=True)
        ticket = await load_ticket(session, ticket_id, lock=True)
        roles = await routing.roles_for(session, person.id, ticket)
        try:
            role = gate.authorise(ticket, action, roles)[1]
            question = _question(services, ticket, action)
        except HuiyinError as exc:
            return ButtonAnswer(str(exc), alert=True)
        if action == Action.ACCEPT:
            event = (
                await gate.move(
                    session, ticket, action, roles=role, actor_id=person.id, note=None, at=now
                )
            ).event
            await notify_reporter(
                session,
                ticket,
                f"accepted:{event.id}",
                texts.NOTIFY_ACCEPTED.format(number=ticket.number, deadline=deadline_text(ticket)),
            )
            answer = ButtonAnswer(texts.ALERT_ACCEPTED.format(number=ticket.number))
        elif action in (Action.APPROVE_EXTENSION, Action.REFUSE_EXTENSION):
            text = await dispatch.decide_extension(
                services,
                session,
                person,
                ticket,
                action == Action.APPROVE_EXTENSION,
                role,
                now,
            )
            answer = ButtonAnswer(text)
        else:
            kind = _KINDS[action]
            await answers.ask(
                services,
                session,
                person_id=person.id,
                chat_id=chat_id,
                kind=kind,
                ticket=ticket,
                now=now,
            )
            await enqueue(
                session,
                key=f"ask:{kind}:{ticket.id}:{person.id}:{now.timestamp()}",
                chat_id=chat_id,
                intent=Prompt(question),
                ticket_id=ticket.id,
            )
            answer = ButtonAnswer(
                texts.ALERT_ASKED.format(what=texts.ACTION_NAMES[action] + "说明")
            )
    services.wake()
    return answer


BUTTON_ACTIONS = frozenset(
    {
        Action.ACCEPT,
        Action.RESOLVE,
        Action.RETURN,
        Action.APPROVE_EXTENSION,
        Action.REFUSE_EXTENSION,
        *dispatch.KINDS,
    }
)
_KINDS: dict[Action, str] = {
    Action.RESOLVE: answers.RESOLVE_NOTE,
    Action.RETURN: answers.RETURN_REASON,
    **dispatch.KINDS,
}


def _question(services: Services, ticket: Ticket, action: Action) -> str:
    if action == Action.RESOLVE:
        return texts.ASK_RESOLVE_NOTE.format(number=ticket.number)
    if action == Action.RETURN:
        return texts.ASK_RETURN_REASON.format(number=ticket.number)
    if action in dispatch.KINDS:
        return dispatch.prompt(services, ticket, action)
    return ""


async def handle_staff_chat_text(
    services: Services,
    person: Person,
    chat_id: int,
    message_id: int,
    text: str,
    *,
    photo: str | None = None,
) -> bool:
    """Take a staff member's message in a staff chat as the answer to a pending question."""
    from bot.services.intake.reports import clean_text

    now = services.clock()
    body = clean_text(text)[: services.max_text_length]
    async with services.sessions.begin() as session:
        if not await is_staff(session, person.id):
            return False
        taken = await answers.take_answer(
            services, session, person, chat_id, message_id, body, now, photo=photo
        )
    if taken:
        services.wake()
    return taken


async def is_staff_chat(services: Services, chat_id: int) -> bool:
    """Tell whether this chat is bound as a staff chat."""
    async with services.sessions() as session:
        bound = await session.get(BoundChat, chat_id)
        return bound is not None and bound.kind == STAFF_CHAT
