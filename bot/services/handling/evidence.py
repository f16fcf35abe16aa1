"""The resident's evidence (photos, a location) put in front of the staff handling a ticket."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import texts
from bot.domain import AttachmentKind
from bot.intents import Location, Photo
from bot.privacy import mask_text
from bot.services.handling import routing
from storage.chats import Place
from storage.models import Attachment, Ticket
from storage.outbox import enqueue

PHOTO, LOCATION = AttachmentKind.PHOTO, AttachmentKind.LOCATION
FROM_REPORTER = (PHOTO, LOCATION)  # the 办结 photo goes to residents instead


async def reporter_evidence(session: AsyncSession, ticket_id: int) -> list[Attachment]:
    """The photos and locations the reporters attached, oldest first."""
    rows = await session.execute(
        select(Attachment)
        .where(Attachment.ticket_id == ticket_id, Attachment.kind.in_(FROM_REPORTER))
        .order_by(Attachment.id)
    )
    return list(rows.scalars())


async def handling_chats(session: AsyncSession, ticket: Ticket) -> list[Place]:
    """The chats working on a ticket: its holder's and those of the departments assisting."""
    chats = list(await routing.holder_chats(session, ticket))
    for code in await routing.assisting(session, ticket.id):
        chats += [c for c in await routing.department_chats(session, code) if c not in chats]
    return chats


async def show_evidence(
    session: AsyncSession,
    ticket: Ticket,
    chats: list[Place],
    *,
    attachments: list[Attachment] | None = None,
    tag: str = "",
) -> None:
    """Send each photo (captioned with the ticket number) and each location (a map pin named
    after the place) to each chat; once per chat unless a `tag` asks again."""
    if attachments is None:
        attachments = await reporter_evidence(session, ticket.id)
    for item in attachments:
        for chat_id in chats:
            key = f"evidence:{item.id}:{chat_id}{tag}"
            if item.kind == PHOTO and item.file_id:
                caption = texts.EVIDENCE_PHOTO.format(number=ticket.number)
                await enqueue(
                    session,
                    key=key,
                    chat_id=chat_id,
                    intent=Photo(item.file_id, caption),
                    ticket_id=ticket.id,
                )
            elif item.kind == LOCATION and item.latitude is not None:
                place = mask_text(ticket.location or "")[:100] or texts.EVIDENCE_PLACE_UNNAMED
                await enqueue(
                    session,
                    key=key,
                    chat_id=chat_id,
                    intent=Location(
                        item.latitude,
                        item.longitude or 0.0,
                        title=place,
                        address=texts.EVIDENCE_PLACE.format(number=ticket.number),
                    ),
                    ticket_id=ticket.id,
                )


def summary(attachments: list[Attachment]) -> str:
    """ "照片 2 张、位置 1 处", for the card and /ticket."""
    photos = sum(a.kind == PHOTO for a in attachments)
    places = sum(a.kind == LOCATION for a in attachments)
    parts = []
    if photos:
        parts.append(texts.EVIDENCE_PHOTOS.format(count=photos))
    if places:
        parts.append(texts.EVIDENCE_PLACES.format(count=places))
    return "、".join(parts)
