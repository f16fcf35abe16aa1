"""Every staff action in one table, and the one executor every staff button and answer goes
through.

A row says which `Action` it is, whether staff must first write something (the pending-question
kind the prompt waits for, and the question asked), and what carries it out: the `perform`
function moves the ticket through the gate and queues the notices and cards that follow (named
in `follows`). Who may take an action, from which status, is not here: that is
`bot.domain.TRANSITIONS`, checked by the gate with the presser's roles from the database.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot import texts
from bot.domain import (
    TRANSITIONS,
    Action,
    HuiyinError,
    IllegalTransition,
    InvalidInput,
    NotAllowed,
    PendingKind,
    Role,
)
from bot.services import gate
from bot.services.context import ButtonAnswer, Person, Services
from bot.services.handling import corrections, dispatch, extension, prompts, resolution, routing
from bot.services.handling.work import Outcome, Work
from bot.services.notices.messages import reply
from bot.services.tickets import load_ticket
from storage.chats import Place
from storage.models import StaffMember, Ticket

Perform = Callable[[Work], Awaitable[Outcome]]
Question = Callable[[Services, Ticket], str]
Ask = Callable[[Services, AsyncSession, Person, "int | Place", Ticket, datetime], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class StaffAction:
    """One staff action: what staff must write first (if anything) and what carries it out."""

    action: Action
    perform: Perform
    follows: str  # the notices and cards that follow, for people reading the table
    prompt: PendingKind | None = None  # the pending-question kind: staff write a note first
    question: Question | None = None  # the prompt's question (may raise InvalidInput)
    ask: Ask | None = None  # asked another way than a prompt (改分类: the next best guesses)
    applies: Callable[[Ticket], bool] = lambda ticket: True  # shown for this ticket at all

    @property
    def roles(self) -> frozenset[Role]:
        """Everyone the transition table lets take this action, from some status."""
        return frozenset(r for t in TRANSITIONS if t.action == self.action for r in t.roles)


def _from_grid(ticket: Ticket) -> bool:
    return ticket.grid_chat_id is not None


TABLE: tuple[StaffAction, ...] = (
    StaffAction(
        Action.ACCEPT,
        resolution.accept,
        follows="reporter: 已受理 with the deadline; cards refreshed",
    ),
    StaffAction(
        Action.RESOLVE,
        resolution.resolve,
        follows="reporters: the result and the 回访 (and the result photo); cards refreshed",
        prompt=PendingKind.RESOLVE_NOTE,
        question=resolution.resolve_question,
    ),
    StaffAction(
        Action.RETURN,
        resolution.return_,
        follows="reporter: why it is returned; cards refreshed",
        prompt=PendingKind.RETURN_REASON,
        question=resolution.return_question,
    ),
    StaffAction(
        Action.ASSIGN,
        dispatch.assign,
        follows="the department: a new card; cards refreshed",
        prompt=PendingKind.ASSIGN_TO,
        question=dispatch.assign_question,
    ),
    StaffAction(
        Action.TRANSFER,
        dispatch.transfer,
        follows="the new department: 转派 notice and a new card; cards refreshed",
        prompt=PendingKind.TRANSFER_TO,
        question=dispatch.transfer_question,
    ),
    StaffAction(
        Action.SEND_BACK,
        dispatch.send_back,
        follows="dispatch chats: 退单 notice and a new card; cards refreshed",
        prompt=PendingKind.SEND_BACK_REASON,
        question=dispatch.send_back_question,
    ),
    StaffAction(
        Action.ASSIST,
        dispatch.assist,
        follows="each cooperating department: 协办 notice and a new card; cards refreshed",
        prompt=PendingKind.ASSIST_WITH,
        question=dispatch.assist_question,
    ),
    StaffAction(
        Action.REQUEST_EXTENSION,
        extension.request,
        follows="dispatch chats: the request with 同意 / 不同意; cards refreshed",
        prompt=PendingKind.EXTEND_TO,
        question=extension.question,
    ),
    StaffAction(
        Action.APPROVE_EXTENSION,
        extension.approve,
        follows="reporter: the new deadline; holder: approved; the request loses its buttons",
    ),
    StaffAction(
        Action.REFUSE_EXTENSION,
        extension.refuse,
        follows="holder: refused; the request loses its buttons; cards refreshed",
    ),
    StaffAction(
        Action.ESCALATE,
        dispatch.escalate_by_staff,
        follows="the department above: 提级 notice and a new card; cards refreshed",
        prompt=PendingKind.ESCALATE_REASON,
        question=dispatch.escalate_question,
    ),
    StaffAction(
        Action.RECATEGORIZE,
        corrections.perform,
        follows="if re-routed, the new holder: notice and a new card; cards refreshed",
        prompt=PendingKind.CATEGORY_TO,
        ask=corrections.ask,
    ),
    StaffAction(
        Action.NOT_REPORT,
        corrections.not_report,
        follows="reporters: told politely it is not a report; cards refreshed",
        applies=_from_grid,
    ),
)
BY_ACTION: dict[Action, StaffAction] = {row.action: row for row in TABLE}
BY_PROMPT: dict[PendingKind, StaffAction] = {row.prompt: row for row in TABLE if row.prompt}


async def is_staff(session: AsyncSession, user_id: int) -> bool:
    """Tell whether this user is registered staff."""
    return await session.get(StaffMember, user_id) is not None


async def press(
    services: Services, person: Person, chat_id: int | Place, action_name: str, ticket_id: int
) -> ButtonAnswer:
    """A staff button on a card: act at once, or ask for what the action needs."""
    try:
        row = BY_ACTION.get(Action(action_name))
    except ValueError:
        row = None
    if row is None:
        return ButtonAnswer(texts.ALERT_INVALID, alert=True)
    now = services.clock()
    async with services.sessions.begin() as session:
        if not await is_staff(session, person.id):
            return ButtonAnswer(texts.ALERT_NOT_STAFF, alert=True)
        ticket = await load_ticket(session, ticket_id, lock=True)
        roles = await routing.roles_for(session, person.id, ticket)
        try:
            role = gate.authorise(ticket, row.action, roles)[1]
            question = row.question(services, ticket) if row.question else ""
        except HuiyinError as exc:
            return ButtonAnswer(str(exc), alert=True)
        if not row.applies(ticket):
            return ButtonAnswer(texts.ALERT_INVALID, alert=True)
        if row.ask is not None:
            await row.ask(services, session, person, chat_id, ticket, now)
            answer = ButtonAnswer(texts.ALERT_ASK_CATEGORY)
        elif row.prompt is not None:
            await prompts.ask_staff(
                services,
                session,
                person=person,
                chat_id=chat_id,
                kind=row.prompt,
                ticket=ticket,
                question=question,
                placeholder=texts.PROMPT_PLACEHOLDERS.get(row.action.value, ""),
                now=now,
            )
            answer = ButtonAnswer(
                texts.ALERT_ASKED.format(what=texts.ACTION_NAMES[row.action] + "说明")
            )
        else:
            outcome = await row.perform(Work(services, session, person, ticket, role, now))
            answer = ButtonAnswer(outcome.text, alert=not outcome.done)
    services.wake()
    return answer


async def complete(
    services: Services,
    session: AsyncSession,
    person: Person,
    row: StaffAction,
    ticket: Ticket,
    now: datetime,
    *,
    note: str,
    chat_id: int,
    message_id: int,
    photo: str | None = None,
) -> None:
    """Carry out the action a staff member's answer to its prompt completes, and reply with
    what happened (nothing changes on a refusal)."""
    outcome = await attempt(
        row,
        Work(services, session, person, ticket, Role.STAFF, now, note, photo, chat_id, message_id),
    )
    await reply(
        session, chat_id=chat_id, message_id=message_id, text=outcome.text, ticket_id=ticket.id
    )


async def attempt(row: StaffAction, work: Work) -> Outcome:
    """Check the presser's roles against the table, then perform; a refusal is an outcome."""
    roles = await routing.roles_for(work.session, work.person.id, work.ticket)
    try:
        role = gate.authorise(work.ticket, row.action, roles)[1]
        return await row.perform(work.acting_as(role))
    except (IllegalTransition, NotAllowed, InvalidInput) as exc:
        return Outcome(str(exc), done=False)
