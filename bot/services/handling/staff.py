"""Staff use cases: bind the staff chat, register staff, accept, resolve and return tickets."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bot import texts
from bot.domain import Action, HuiyinError, PendingKind
from bot.services import gate
from bot.services.context import ButtonAnswer, Person, Services, clean_text
from bot.services.handling import answers, contact, corrections, dispatch, prompts, routing
from bot.services.handling.routing import STAFF_CHAT
from bot.services.tickets import (
    deadline_text,
    find_by_number,
    load_ticket,
    notify_reporter,
    reply,
)
from storage.chats import Place, binding_for
from storage.models import StaffMember, Ticket


async def is_staff(session: AsyncSession, user_id: int) -> bool:
    """Tell whether this user is registered staff."""
    return await session.get(StaffMember, user_id) is not None


async def press(
    services: Services, person: Person, chat_id: int | Place, action_name: str, ticket_id: int
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
                    session,
                    ticket,
                    action,
                    roles=role,
                    actor_id=person.id,
                    note=None,
                    at=now,
                    timetable=services,
                )
            ).event
            await notify_reporter(
                session,
                ticket,
                f"accepted:{event.id}",
                texts.NOTIFY_ACCEPTED.format(number=ticket.number, deadline=deadline_text(ticket)),
            )
            answer = ButtonAnswer(texts.ALERT_ACCEPTED.format(number=ticket.number))
        elif action == Action.NOT_REPORT:
            if ticket.grid_chat_id is None:
                return ButtonAnswer(texts.ALERT_INVALID, alert=True)
            text = await corrections.not_report(services, session, person, ticket, role, now)
            answer = ButtonAnswer(text)
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
        elif action == Action.RECATEGORIZE:
            await corrections.ask(services, session, person, chat_id, ticket, now)
            answer = ButtonAnswer(texts.ALERT_ASK_CATEGORY)
        else:
            await prompts.ask_staff(
                services,
                session,
                person=person,
                chat_id=chat_id,
                kind=_KINDS[action],
                ticket=ticket,
                question=question,
                placeholder=texts.PROMPT_PLACEHOLDERS.get(action.value, ""),
                now=now,
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
        Action.RECATEGORIZE,
        Action.NOT_REPORT,
        *dispatch.KINDS,
    }
)
_KINDS: dict[Action, PendingKind] = {
    Action.RESOLVE: PendingKind.RESOLVE_NOTE,
    Action.RETURN: PendingKind.RETURN_REASON,
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
    reply_to: int | None = None,
) -> bool:
    """Take a staff member's reply to their prompt as the answer to it (other talk is not)."""
    now = services.clock()
    body = clean_text(text)[: services.max_text_length]
    async with services.sessions.begin() as session:
        if not await is_staff(session, person.id):
            return False
        taken = await answers.take_answer(
            services,
            session,
            person,
            chat_id,
            message_id,
            body,
            now,
            photo=photo,
            reply_to=reply_to,
        )
    if taken:
        services.wake()
    return taken


async def ask_contact(
    services: Services,
    person: Person,
    chat_id: int | Place,
    *,
    ticket_id: int | None = None,
    number: str | None = None,
    message_id: int | None = None,
) -> ButtonAnswer:
    """联系方式 (a card button, or /contact 编号): ask this member of staff why they need the
    reporter's contact; their reply to the prompt reveals it, on the record."""
    now = services.clock()
    async with services.sessions.begin() as session:
        ticket = None
        if ticket_id is not None:
            ticket = await load_ticket(session, ticket_id, lock=True)
        elif number is not None:
            ticket = await find_by_number(session, number)
        if not await is_staff(session, person.id):
            refused: str | None = texts.ALERT_NOT_STAFF
        elif ticket is None:
            refused = (
                texts.CONTACT_USAGE
                if number is None
                else texts.TICKET_NOT_VISIBLE.format(number=number)
            )
        else:
            refused = await contact.refusal(session, ticket, person.id, chat_id)
        if refused is not None:
            if message_id is not None:
                await reply(session, chat_id=chat_id, message_id=message_id, text=refused)
            answer = ButtonAnswer(refused, alert=True)
        else:
            assert ticket is not None
            await prompts.ask_staff(
                services,
                session,
                person=person,
                chat_id=chat_id,
                kind=PendingKind.REVEAL_REASON,
                ticket=ticket,
                question=texts.ASK_REVEAL_REASON.format(number=ticket.number),
                placeholder=texts.PROMPT_PLACEHOLDERS["reveal"],
                now=now,
            )
            answer = ButtonAnswer(texts.ALERT_ASKED.format(what="查看原因"))
    services.wake()
    return answer


async def is_staff_chat(services: Services, chat_id: int) -> bool:
    """Tell whether this chat is bound as a staff chat."""
    async with services.sessions() as session:
        bound = await binding_for(session, chat_id)
        return bound is not None and bound.kind == STAFF_CHAT
