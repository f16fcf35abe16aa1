"""Adding a resident's photo or location to their ticket: stored, acknowledged, shown to staff."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import texts
from bot.domain import AttachmentKind, EventKind, Role
from bot.services import gate
from bot.services.handling.evidence import handling_chats, show_evidence
from bot.services.notices.messages import reply
from storage.models import Attachment, Ticket
from storage.outbox import insert_ignore


async def add_evidence(
    session: AsyncSession,
    ticket: Ticket,
    actor_id: int,
    chat_id: int,
    message_id: int,
    now: datetime,
    *,
    kind: AttachmentKind,
    file_id: str | None = None,
    latitude: float | None = None,
    longitude: float | None = None,
) -> None:
    """Store the attachment once, tell the resident, and send it to every handling chat."""
    inserted = await insert_ignore(
        session,
        Attachment,
        {
            "ticket_id": ticket.id,
            "kind": kind,
            "file_id": file_id,
            "latitude": latitude,
            "longitude": longitude,
            "source_chat_id": chat_id,
            "source_message_id": message_id,
            "created_at": now,
        },
        ["source_chat_id", "source_message_id"],
    )
    template = texts.ATTACHED_PHOTO if kind == AttachmentKind.PHOTO else texts.ATTACHED_LOCATION
    await reply(
        session,
        chat_id=chat_id,
        message_id=message_id,
        suffix=":attach",
        text=template.format(number=ticket.number),
        ticket_id=ticket.id,
    )
    if not inserted:
        return
    await gate.note(
        session,
        ticket,
        EventKind(f"attach_{kind}"),
        role=Role.REPORTER,
        actor_id=actor_id,
        note=file_id or f"{latitude},{longitude}",
        at=now,
    )
    added = (
        await session.execute(
            select(Attachment).where(
                Attachment.source_chat_id == chat_id,
                Attachment.source_message_id == message_id,
            )
        )
    ).scalar_one()
    await show_evidence(
        session, ticket, await handling_chats(session, ticket), attachments=[added]
    )
