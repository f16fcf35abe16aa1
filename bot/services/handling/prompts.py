"""Questions to one member of staff in a group: a prompt that names them and waits for their
reply to it, so nothing else said in the chat is taken as the answer."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain import PendingKind
from bot.errors import NotYetSent
from bot.intents import Prompt
from bot.services.context import Person, Services
from storage.chats import Place, place_of
from storage.models import OutboxMessage, PendingInput, Ticket
from storage.outbox import enqueue


async def remember(
    services: Services,
    session: AsyncSession,
    person_id: int,
    chat_id: int | Place,
    kind: PendingKind,
    ticket: Ticket,
    now: datetime,
    *,
    prompt_key: str | None,
) -> None:
    """Store the question this person owes an answer to in this chat (one at a time)."""
    chat_id = place_of(chat_id).chat_id
    await session.execute(
        delete(PendingInput).where(
            PendingInput.user_id == person_id, PendingInput.chat_id == chat_id
        )
    )
    session.add(
        PendingInput(
            user_id=person_id,
            chat_id=chat_id,
            kind=kind,
            ticket_id=ticket.id,
            round=ticket.resolution_round,
            expires_at=now + timedelta(seconds=services.prompt_ttl_seconds),
            prompt_key=prompt_key,
        )
    )


async def ask_staff(
    services: Services,
    session: AsyncSession,
    *,
    person: Person,
    chat_id: int | Place,
    kind: PendingKind,
    ticket: Ticket,
    question: str,
    placeholder: str,
    now: datetime,
) -> None:
    """Ask this person, in this group, for what `kind` needs; only their reply will answer.
    The same question already waiting (a double click, on one instance or two) is not asked
    again."""
    waiting = await session.get(
        PendingInput, (person.id, place_of(chat_id).chat_id), with_for_update=True
    )
    if (
        waiting is not None
        and (waiting.kind, waiting.ticket_id, waiting.round)
        == (kind, ticket.id, ticket.resolution_round)
        and waiting.expires_at > now
    ):
        return
    key = f"ask:{kind}:{ticket.id}:{person.id}:{int(now.timestamp() * 1000)}"
    await remember(services, session, person.id, chat_id, kind, ticket, now, prompt_key=key)
    await enqueue(
        session,
        key=key,
        chat_id=chat_id,
        intent=Prompt(
            question,
            selective=True,
            mention_id=person.id,
            mention_name=person.display_name,
            placeholder=placeholder,
        ),
        ticket_id=ticket.id,
    )


# How long a reply may wait for its prompt's message id to be written down: the sender writes
# it right after Telegram answers, so only a database that is away takes longer.
IN_FLIGHT_GRACE = timedelta(seconds=60)


async def answers_prompt(
    session: AsyncSession, pending: PendingInput, reply_to: int | None, now: datetime
) -> bool:
    """Tell whether a message replying to `reply_to` answers this pending question.

    Raises NotYetSent when the prompt has gone out but its message id is not recorded yet: a
    quick reply can arrive in that moment, and it must not be taken for ordinary talk."""
    if pending.prompt_key is None:
        return True  # a private chat: the next message is the answer
    if reply_to is None:
        return False
    row = (
        await session.execute(
            select(
                OutboxMessage.message_id, OutboxMessage.attempts, OutboxMessage.created_at
            ).where(OutboxMessage.idempotency_key == pending.prompt_key)
        )
    ).one_or_none()
    if row is None:
        return False
    message_id, attempts, created_at = row
    if message_id is None and attempts > 0 and now - created_at < IN_FLIGHT_GRACE:
        raise NotYetSent(f"prompt {pending.prompt_key} is on its way")
    return message_id is not None and message_id == reply_to
