"""保密 at the resident's request: one tap under the acknowledgement of a private report.

Typing 保密 (or 匿名, 不要透露 …) in the report asks for it too (`contact.wants_confidential`).
A confidential reporter is revealed only in the dispatch chat (`contact.refusal`); the card
says so. The resident may ask for it while staff can still reveal them, and take it back only
until the ticket is accepted (`filing.ack_buttons`). Each change is an audit row (typed
`EventKind`), refreshes the cards and rewrites the acknowledgement with the button that now
applies.
"""

from __future__ import annotations

from bot import texts
from bot.domain import EventKind, Role, Status
from bot.intents import Earlier, Edit
from bot.services import gate
from bot.services.context import ButtonAnswer, Person, Services
from bot.services.intake.filing import (
    CONFIDENTIAL_FROM,
    CONFIDENTIAL_UNDO,
    ack_buttons,
    acknowledgement,
)
from storage.models import Ticket
from storage.outbox import enqueue


async def press(
    services: Services, person: Person, ticket_id: int, on: bool, message_id: int | None
) -> ButtonAnswer:
    """保密处理 (`on`) / 取消保密 pressed by `person` on the acknowledgement `message_id` (in
    their private chat); only the ticket's reporter may, and only while the rules allow."""
    now = services.clock()
    async with services.sessions.begin() as session:
        ticket = await session.get(Ticket, ticket_id, with_for_update=True)
        if ticket is None:
            return ButtonAnswer(texts.ALERT_INVALID, alert=True)
        if ticket.reporter_id != person.id:
            return ButtonAnswer(texts.ALERT_CONFIDENTIAL_NOT_YOURS, alert=True)
        status = Status(ticket.status)
        done = texts.ALERT_CONFIDENTIAL_ON if on else texts.ALERT_CONFIDENTIAL_OFF
        if on == ticket.confidential:  # a second tap, or a button left from before
            answer, changed = ButtonAnswer(done), None
        elif status not in (CONFIDENTIAL_FROM if on else CONFIDENTIAL_UNDO):
            refusal = (
                texts.ALERT_CONFIDENTIAL_CLOSED
                if status not in CONFIDENTIAL_FROM
                else texts.ALERT_CONFIDENTIAL_LOCKED
            )
            answer, changed = ButtonAnswer(refusal, alert=True), None
        else:
            ticket.confidential = on
            changed = await gate.note(
                session,
                ticket,
                EventKind.CONFIDENTIAL if on else EventKind.NOT_CONFIDENTIAL,
                role=Role.REPORTER,
                actor_id=person.id,
                note=None,
                at=now,
            )
            answer = ButtonAnswer(done)
        if message_id is not None:
            # The acknowledgement shows what holds now and the one button that still applies.
            state = f"{status.value}{int(ticket.confidential)}"
            version = f"e{changed.id}" if changed is not None else state
            await enqueue(
                session,
                key=f"confidential:{ticket.id}:{message_id}:{version}",
                chat_id=person.id,
                intent=Edit(
                    Earlier(message_id=message_id), acknowledgement(ticket), ack_buttons(ticket)
                ),
                ticket_id=ticket.id,
            )
    services.wake()
    return answer
