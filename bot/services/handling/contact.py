"""Contact when needed, on the record: staff see who reported a ticket only with a reason.

Cards mask the reporter. A member of staff of a chat handling the ticket (its holder, a
department assisting, or the dispatch chat 总平台) may ask for the name and a link that opens
a private chat with the reporter; they must give a reason, and each reveal is an audit row
(who, when, why) shown on /ticket. A reporter who asked for 保密 is revealed only in the
dispatch chat.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot import texts
from bot.domain import EventKind, Role
from bot.intents import Notice
from bot.services import gate
from bot.services.context import Person
from bot.services.handling import routing
from storage.chats import Place
from storage.models import Ticket, User
from storage.outbox import enqueue

CONFIDENTIAL_WORDS = ("保密", "匿名", "不要透露", "别透露", "不要公开")


def wants_confidential(text: str) -> bool:
    """Whether a report asks that the reporter's identity be kept confidential (保密)."""
    return any(word in text for word in CONFIDENTIAL_WORDS)


async def refusal(
    session: AsyncSession, ticket: Ticket, person_id: int, chat_id: int | Place
) -> str | None:
    """Why this person may not see the reporter from this chat, or None when they may."""
    department = await routing.chat_department(session, chat_id)
    if department is None or department not in await routing.memberships(session, person_id):
        return texts.ALERT_NOT_STAFF
    if department == routing.DISPATCH:
        return None
    if ticket.confidential:
        return texts.CONTACT_CONFIDENTIAL.format(number=ticket.number)
    if department == ticket.department or department in await routing.assisting(
        session, ticket.id
    ):
        return None
    return texts.CONTACT_NOT_YOURS.format(number=ticket.number)


async def reveal(
    session: AsyncSession,
    ticket: Ticket,
    person: Person,
    chat_id: int,
    message_id: int,
    reason: str,
    now: datetime,
) -> None:
    """Record the reveal (who, when, why) and answer in the chat with the reporter's name and
    a link to them; refuse when the person may no longer see them."""
    refused = await refusal(session, ticket, person.id, chat_id)
    if refused is not None:
        await enqueue(
            session,
            key=f"reply:{chat_id}:{message_id}",
            chat_id=chat_id,
            intent=Notice(refused, reply_to=message_id),
            ticket_id=ticket.id,
        )
        return
    department = await routing.chat_department(session, chat_id)
    event = await gate.note(
        session,
        ticket,
        EventKind.REVEAL_CONTACT,
        role=Role.DISPATCHER if department == routing.DISPATCH else Role.STAFF,
        actor_id=person.id,
        note=reason[:500],
        at=now,
        refresh=False,
    )
    user = await session.get(User, ticket.reporter_id)
    name = (user.first_name if user else "") or ticket.reporter_name or texts.CONTACT_NO_NAME
    username = f"（@{user.username}）" if user is not None and user.username else ""
    await enqueue(
        session,
        key=f"contact:{event.id}",
        chat_id=chat_id,
        intent=Notice(
            texts.CONTACT_SHOWN.format(
                number=ticket.number, name=name, username=username, reason=reason[:200]
            ),
            reply_to=message_id,
            mention_id=ticket.reporter_id,
            mention_name=name,
        ),
        ticket_id=ticket.id,
    )
