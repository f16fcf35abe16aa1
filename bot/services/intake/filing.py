"""Opening a ticket: one place for numbering, deadlines, the audit row and the staff card."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot import texts
from bot.buttons import ConfidentialPress
from bot.domain import OPEN_STATUSES, Status, Urgency
from bot.intents import Key, Keyboard, keyboard
from bot.services import gate
from bot.services.context import Person, Services
from bot.services.handling.contact import wants_confidential
from bot.services.handling.routing import holder_chats
from bot.services.intake.abuse import over_report_limit
from bot.services.notices.cards import post_cards
from bot.services.notices.messages import deadline_text, reply
from bot.services.tickets import local_day, next_number
from nlp import Extraction
from storage.chats import grid_binding
from storage.models import Ticket

log = logging.getLogger("huiyin.filing")


@dataclass(frozen=True, slots=True)
class Source:
    """Where a report was heard: the chat and message it came from, and who handed it over."""

    chat_id: int
    message_id: int
    grid_chat_id: int | None = None
    worker_id: int | None = None
    reporter_name: str | None = None


async def existing_ticket(session: AsyncSession, source: Source) -> Ticket | None:
    """Return the ticket already opened from this chat message, if any."""
    return (
        await session.execute(
            select(Ticket).where(
                Ticket.source_chat_id == source.chat_id,
                Ticket.source_message_id == source.message_id,
            )
        )
    ).scalar_one_or_none()


async def open_ticket(
    services: Services,
    session: AsyncSession,
    reporter: Person,
    source: Source,
    body: str,
    extraction: Extraction,
    now: datetime,
) -> Ticket | None:
    """Open a ticket and post its card; None when a concurrent delivery already opened it."""
    number = await next_number(session, local_day(now))
    grid = await grid_binding(session, source.grid_chat_id) if source.grid_chat_id else None
    department = services.directory.get(
        services.directory.route(extraction.category_label, grid.name if grid else None)
    )
    ticket = Ticket(
        number=number,
        reporter_id=reporter.id,
        source_chat_id=source.chat_id,
        source_message_id=source.message_id,
        grid_chat_id=source.grid_chat_id,
        worker_id=source.worker_id,
        reporter_name=source.reporter_name,
        confidential=wants_confidential(body),
        text=body,
        category=extraction.category_label,
        intent=extraction.intent,
        urgency=extraction.urgency,
        urgent_words="、".join(extraction.urgent_words)[:255],
        location=(extraction.location or "")[:255] or None,
        category_choices=category_choices(extraction),
        confidence=extraction.confidence,
        department=department.code if department else None,
        department_name=department.name if department else None,
        created_at=now,
        updated_at=now,
    )
    gate.open_as(ticket, routed=department is not None, at=now, timetable=services)
    session.add(ticket)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        # A concurrent delivery of the same message won the race: answer nothing new.
        return None
    await gate.file(
        session,
        ticket,
        actor_id=source.worker_id or reporter.id,
        note=department.name if department else None,
        at=now,
    )
    chats = await holder_chats(session, ticket)
    if not chats:
        log.warning("ticket %s filed but no staff chat is bound (/bind_staff)", number)
    await post_cards(session, ticket, tag="new", chats=chats, fresh=True)
    return ticket


async def file_private(
    services: Services,
    session: AsyncSession,
    reporter: Person,
    source: Source,
    body: str,
    extraction: Extraction,
    now: datetime,
    *,
    suffix: str = "",
    note: str = "",
) -> tuple[str, Ticket | None]:
    """File a private report and acknowledge it with its number, category and deadline (and
    `note`, a line after them).

    Returns ("ticket", t), ("duplicate", t or None) or ("limited", None) when the person is
    over the hourly limit (and has been told).
    """
    chat_id, message_id = reporter.id, source.message_id
    if await over_report_limit(services, reporter.id):
        await reply(
            session,
            chat_id=chat_id,
            message_id=message_id,
            suffix=suffix,
            text=texts.TOO_MANY_REPORTS,
        )
        return "limited", None
    ticket = await open_ticket(services, session, reporter, source, body, extraction, now)
    if ticket is None:
        return "duplicate", await existing_ticket(session, source)
    await reply(
        session,
        chat_id=chat_id,
        message_id=message_id,
        suffix=suffix,
        text=acknowledgement(ticket) + (f"\n{note}" if note else ""),
        buttons=ack_buttons(ticket),
        ticket_id=ticket.id,
    )
    return "ticket", ticket


def category_choices(extraction: Extraction) -> str | None:
    """The extractor's top 3 category paths, one per line (what staff may pick with one tap)."""
    paths = [extraction.category, *extraction.alternatives]
    labels = list(dict.fromkeys("/".join(p) for p in paths if p))
    return "\n".join(labels) or None


# 保密 may be asked for while staff can still reveal the reporter, and taken back only
# before anyone accepted the ticket (a department may have planned its handling on it).
CONFIDENTIAL_FROM = OPEN_STATUSES | {Status.RESOLVED}
CONFIDENTIAL_UNDO = frozenset({Status.NEW, Status.DISPATCHING})


def ack_buttons(ticket: Ticket) -> Keyboard:
    """The 保密 button under a private acknowledgement: 保密处理, or 取消保密 before acceptance."""
    status = Status(ticket.status)
    if not ticket.confidential and status in CONFIDENTIAL_FROM:
        return keyboard([Key(texts.BUTTON_CONFIDENTIAL, ConfidentialPress(ticket.id, True))])
    if ticket.confidential and status in CONFIDENTIAL_UNDO:
        return keyboard([Key(texts.BUTTON_NOT_CONFIDENTIAL, ConfidentialPress(ticket.id, False))])
    return ()


def acknowledgement(ticket: Ticket) -> str:
    """The full acknowledgement a reporter reads in their private chat."""
    urgent = ticket.urgency == Urgency.URGENT
    urgent_line = (
        texts.URGENT_LINE.format(words=ticket.urgent_words or texts.URGENT_NO_WORDS)
        if urgent
        else ""
    )
    return texts.REPORT_ACK.format(
        number=ticket.number,
        category=ticket.category,
        location_line=(
            texts.ACK_LOCATION_LINE.format(location=ticket.location) if ticket.location else ""
        ),
        urgent_line=urgent_line,
        deadline=deadline_text(ticket),
    ) + (texts.ACK_CONFIDENTIAL if ticket.confidential else "")
