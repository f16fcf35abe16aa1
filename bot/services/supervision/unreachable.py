"""A chat the bot can no longer write to: what follows for the people and tickets involved.

The sender calls this when Telegram refuses a chat. Only a blocked bot, a deactivated account
or a chat that no longer exists is final; any other refusal (kicked from a group, no right to
post) is retried by the sender until the chat works again, so a staff card still arrives.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot import texts
from bot.domain import EventKind, Role
from bot.intents import GroupAnswer
from bot.services import gate
from storage.models import Ticket, User
from storage.outbox import enqueue

FINAL_REFUSALS = ("bot was blocked by the user", "user is deactivated", "chat not found")


def is_final(description: str) -> bool:
    """Whether Telegram's refusal means the chat will not take messages again."""
    text = description.lower()
    return any(reason in text for reason in FINAL_REFUSALS)


def ticket_link(bot_username: str | None, number: str) -> str:
    """The t.me link that opens a private chat with the bot and follows one ticket."""
    return f"https://t.me/{bot_username}?start=t{number}"


async def chat_refused(
    session: AsyncSession,
    *,
    chat_id: int,
    ticket_id: int | None,
    reason: str,
    bot_username: str | None,
    now: datetime,
) -> None:
    """Record that `chat_id` refuses the bot for good; a reporter who cannot be told is
    answered in the grid thread with a link, and the ticket's cards say so."""
    if chat_id > 0:
        user = await session.get(User, chat_id)
        if user is not None:
            user.blocked_bot_at = now
    if ticket_id is None:
        return
    ticket = await session.get(Ticket, ticket_id)
    if ticket is None or ticket.reporter_id != chat_id or ticket.reporter_unreachable:
        return
    ticket.reporter_unreachable = True
    if ticket.grid_chat_id is not None:
        in_thread = ticket.source_chat_id == ticket.grid_chat_id
        await enqueue(
            session,
            key=f"link:{ticket.id}",
            chat_id=ticket.grid_chat_id,
            intent=GroupAnswer(
                texts.GROUP_ACK_LINK.format(
                    number=ticket.number, link=ticket_link(bot_username, ticket.number)
                ),
                reply_to=ticket.source_message_id if in_thread else None,
            ),
            ticket_id=ticket.id,
        )
    # The cards are edited to say the reporter cannot be told.
    await gate.note(
        session,
        ticket,
        EventKind.UNDELIVERABLE,
        role=Role.SYSTEM,
        actor_id=None,
        note=reason,
        at=now,
    )
