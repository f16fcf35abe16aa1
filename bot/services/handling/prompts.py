"""Questions to one member of staff in a group: a prompt that names them and waits for their
reply to it, so nothing else said in the chat is taken as the answer."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.context import Person, Services
from storage.models import OutboxMessage, PendingInput, Ticket
from storage.outbox import enqueue


async def remember(
    services: Services,
    session: AsyncSession,
    person_id: int,
    chat_id: int,
    kind: str,
    ticket: Ticket,
    now: datetime,
    *,
    prompt_key: str | None,
) -> None:
    """Store the question this person owes an answer to in this chat (one at a time)."""
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


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def mention(person: Person, text: str) -> tuple[str, list[dict[str, Any]]]:
    """Prefix `text` with the person's name as a mention (a selective ForceReply targets them)."""
    name = person.display_name[:64]
    entity = {
        "type": "text_mention",
        "offset": 0,
        "length": _utf16(name),
        "user": {"id": person.id, "is_bot": False, "first_name": person.first_name or name},
    }
    return f"{name}，{text}", [entity]


async def ask_staff(
    services: Services,
    session: AsyncSession,
    *,
    person: Person,
    chat_id: int,
    kind: str,
    ticket: Ticket,
    question: str,
    placeholder: str,
    now: datetime,
) -> None:
    """Ask this person, in this group, for what `kind` needs; only their reply will answer."""
    key = f"ask:{kind}:{ticket.id}:{person.id}:{int(now.timestamp() * 1000)}"
    await remember(services, session, person.id, chat_id, kind, ticket, now, prompt_key=key)
    text, entities = mention(person, question)
    await enqueue(
        session,
        key=key,
        chat_id=chat_id,
        text=text,
        reply_markup={
            "force_reply": True,
            "selective": True,
            "input_field_placeholder": placeholder[:64],
        },
        purpose="prompt",
        ticket_id=ticket.id,
        extra={"entities": entities},
    )


async def answers_prompt(
    session: AsyncSession, pending: PendingInput, reply_to: int | None
) -> bool:
    """Tell whether a message replying to `reply_to` answers this pending question."""
    if pending.prompt_key is None:
        return True  # a private chat: the next message is the answer
    if reply_to is None:
        return False
    sent = (
        await session.execute(
            select(OutboxMessage.message_id).where(
                OutboxMessage.idempotency_key == pending.prompt_key
            )
        )
    ).scalar_one_or_none()
    return sent is not None and sent == reply_to
