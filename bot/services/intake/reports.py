"""Resident use cases: report a problem, attach evidence, follow and cancel tickets."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import texts
from bot.domain import (
    Action,
    AttachmentKind,
    EventKind,
    Role,
    Status,
    parse_ticket_number,
    transition_for,
)
from bot.privacy import mask_text
from bot.services import gate
from bot.services.context import Person, Services, clean_text
from bot.services.handling import answers, routing
from bot.services.intake import private_prompts
from bot.services.intake.attachments import add_evidence
from bot.services.intake.filing import Source, existing_ticket, file_private
from bot.services.notices.messages import deadline_text, reply, tell_chats
from bot.services.tickets import find_by_number, format_time, remember_user, reporter_ids
from nlp import Decision, decide
from storage.models import Ticket, TicketReporter

log = logging.getLogger("huiyin.reports")


@dataclass(frozen=True, slots=True)
class ReportOutcome:
    """What happened to one private message: a ticket, an answer to a question, or a how-to."""

    kind: str  # "ticket" | "duplicate" | "answer" | "asked" | "howto" | "unreadable" | "limited"
    number: str | None = None


async def handle_private_text(
    services: Services,
    person: Person,
    message_id: int,
    text: str,
    *,
    photo_file_id: str | None = None,
    evidence: Evidence | None = None,
) -> ReportOutcome:
    """Handle free text in a private chat (or a photo's caption): an awaited answer, a new
    report, or a how-to. `evidence` (the captioned photo) joins the report it files, or the
    reporter's recent ticket, in the same transaction."""
    now = services.clock()
    chat_id = person.id
    body, cut = _body(services, text)
    async with services.sessions.begin() as session:
        await remember_user(session, person, started=now)
        if await answers.take_answer(services, session, person, chat_id, message_id, body, now):
            outcome = ReportOutcome("answer")
        elif not body:
            await reply(session, chat_id=chat_id, message_id=message_id, text=texts.UNREADABLE)
            outcome = ReportOutcome("unreadable")
        else:
            outcome = await _file_or_explain(
                services,
                session,
                person,
                message_id,
                body,
                now,
                cut=cut,
                photo_file_id=photo_file_id,
            )
        if evidence is not None and outcome.kind in ("ticket", "duplicate"):
            outcome = await _attach_recent(services, session, person, message_id, evidence, now)
    services.wake()
    return outcome


async def handle_private_edit(
    services: Services, person: Person, message_id: int, text: str, edited_at: int
) -> ReportOutcome:
    """An edited private message: added to its ticket as 补充 (staff told), or filed and
    acknowledged when it now describes a problem; otherwise nothing new is said."""
    now = services.clock()
    chat_id = person.id
    body, cut = _body(services, text)
    suffix = f":edit:{edited_at}"
    async with services.sessions.begin() as session:
        await remember_user(session, person, started=now)
        ticket = await existing_ticket(session, Source(chat_id=chat_id, message_id=message_id))
        if ticket is None:
            outcome = (
                await _file_or_explain(
                    services,
                    session,
                    person,
                    message_id,
                    body,
                    now,
                    suffix=suffix,
                    cut=cut,
                    explain=False,
                )
                if body
                else ReportOutcome("unreadable")
            )
        elif not body or body == ticket.text:
            outcome = ReportOutcome("duplicate", ticket.number)
        else:
            event = await gate.note(
                session,
                ticket,
                EventKind.SUPPLEMENT,
                role=Role.REPORTER,
                actor_id=person.id,
                note=body,
                at=now,
            )
            await tell_chats(
                session,
                ticket,
                await routing.holder_chats(session, ticket),
                f"supplement:{event.id}",
                texts.SUPPLEMENT_STAFF.format(number=ticket.number, text=mask_text(body[:500])),
            )
            await reply(
                session,
                chat_id=chat_id,
                message_id=message_id,
                suffix=suffix,
                text=texts.SUPPLEMENT_ADDED.format(number=ticket.number),
                ticket_id=ticket.id,
            )
            outcome = ReportOutcome("supplement", ticket.number)
    services.wake()
    return outcome


def _body(services: Services, text: str) -> tuple[str, bool]:
    """The cleaned text, cut to the limit, and whether it was cut."""
    body = clean_text(text)
    return body[: services.max_text_length], len(body) > services.max_text_length


async def _file_or_explain(
    services: Services,
    session: AsyncSession,
    person: Person,
    message_id: int,
    body: str,
    now: datetime,
    *,
    suffix: str = "",
    cut: bool = False,
    explain: bool = True,
    photo_file_id: str | None = None,
) -> ReportOutcome:
    chat_id = person.id
    source = Source(chat_id=chat_id, message_id=message_id)
    existing = await existing_ticket(session, source)
    if existing is not None:
        return ReportOutcome("duplicate", existing.number)
    extraction = services.extractor.extract(body)
    decision = decide(extraction, "private")
    if decision != Decision.TICKET and not explain:
        return ReportOutcome("howto")  # an edit that is not clearly a report: nothing new said
    if decision == Decision.SILENT:
        # A greeting, thanks or emoji: a friendly word on how to report, nothing filed.
        await reply(session, chat_id=chat_id, message_id=message_id, text=texts.SMALL_TALK_REPLY)
        return ReportOutcome("howto")
    if decision == Decision.ASK:
        asked = await private_prompts.ask(
            services, session, person, message_id, body, extraction, now, photo_file_id
        )
        return ReportOutcome("asked" if asked else "duplicate")
    kind, ticket = await file_private(
        services,
        session,
        person,
        source,
        body,
        extraction,
        now,
        suffix=suffix,
        note=texts.TOO_LONG.format(limit=services.max_text_length) if cut else "",
    )
    return ReportOutcome(kind, ticket.number if ticket is not None else None)


@dataclass(frozen=True, slots=True)
class Evidence:
    """A photo or a location a resident sent for their ticket."""

    kind: AttachmentKind
    file_id: str | None = None
    latitude: float | None = None
    longitude: float | None = None


async def attach(
    services: Services,
    person: Person,
    message_id: int,
    *,
    kind: AttachmentKind,
    file_id: str | None = None,
    latitude: float | None = None,
    longitude: float | None = None,
    caption: str | None = None,
) -> ReportOutcome:
    """Attach a photo or location to the reporter's ticket of the last 10 minutes (a caption
    that is a report files it first, in the same transaction)."""
    evidence = Evidence(kind, file_id, latitude, longitude)
    if caption and clean_text(caption):
        photo = file_id if kind == AttachmentKind.PHOTO else None
        return await handle_private_text(
            services, person, message_id, caption, photo_file_id=photo, evidence=evidence
        )
    now = services.clock()
    async with services.sessions.begin() as session:
        await remember_user(session, person, started=now)
        outcome = await _attach_recent(services, session, person, message_id, evidence, now)
    services.wake()
    return outcome


async def _attach_recent(
    services: Services,
    session: AsyncSession,
    person: Person,
    message_id: int,
    evidence: Evidence,
    now: datetime,
) -> ReportOutcome:
    """Add the evidence to the reporter's newest ticket still open to it, or say there is none."""
    chat_id = person.id
    since = now - timedelta(seconds=services.attach_window_seconds)
    ticket = (
        await session.execute(
            select(Ticket)
            .where(
                Ticket.source_chat_id == chat_id,
                Ticket.created_at >= since,
                Ticket.status.in_([Status.NEW.value, Status.ACCEPTED.value]),
            )
            .order_by(Ticket.id.desc())
            .limit(1)
        )
    ).scalar_one_or_none()
    if ticket is None:
        await reply(session, chat_id=chat_id, message_id=message_id, text=texts.NOTHING_TO_ATTACH)
        return ReportOutcome("howto")
    await add_evidence(
        session,
        ticket,
        person.id,
        chat_id,
        message_id,
        now,
        kind=evidence.kind,
        file_id=evidence.file_id,
        latitude=evidence.latitude,
        longitude=evidence.longitude,
    )
    return ReportOutcome("ticket", ticket.number)


async def follow(services: Services, person: Person, message_id: int, number: str) -> None:
    """A deep link /start t<number>: the person can now be messaged; show them the ticket."""
    async with services.sessions.begin() as session:
        await remember_user(session, person, started=services.clock())
        ticket = await find_by_number(session, number)
        if ticket is not None and person.id in await reporter_ids(session, ticket):
            ticket.reporter_unreachable = False
    await show_status(services, person, message_id, number)


async def show_status(services: Services, person: Person, message_id: int, arg: str) -> None:
    """Answer /status: the reporter's own ticket only; anything else is "not found"."""
    number = parse_ticket_number(arg)
    async with services.sessions.begin() as session:
        if number is None:
            text = texts.STATUS_USAGE
        else:
            ticket = await find_by_number(session, number)
            if ticket is None or (
                person.id not in await reporter_ids(session, ticket)
                and ticket.worker_id != person.id
            ):
                text = texts.NOT_FOUND.format(number=number)
            else:
                text = texts.STATUS_LINE.format(
                    number=ticket.number,
                    status=texts.STATUS_NAMES[ticket.status],
                    category=ticket.category,
                    created=format_time(ticket.created_at),
                    deadline=deadline_text(ticket),
                )
                if ticket.resolution_note and ticket.status in (Status.RESOLVED, Status.CLOSED):
                    text += texts.STATUS_NOTE.format(note=ticket.resolution_note)
                if ticket.status == Status.RETURNED and ticket.return_reason:
                    text += texts.STATUS_RETURN.format(reason=ticket.return_reason)
        await reply(session, chat_id=person.id, message_id=message_id, text=text)
    services.wake()


async def list_mine(services: Services, person: Person, message_id: int, limit: int = 10) -> None:
    """Answer /my: the person's latest tickets with their status (a grid worker's include
    those they handed over for residents)."""
    async with services.sessions.begin() as session:
        rows = (
            await session.execute(
                select(Ticket)
                .where(
                    or_(
                        Ticket.reporter_id == person.id,
                        Ticket.worker_id == person.id,
                        Ticket.id.in_(
                            select(TicketReporter.ticket_id).where(
                                TicketReporter.user_id == person.id
                            )
                        ),
                    )
                )
                .order_by(Ticket.id.desc())
                .limit(limit)
            )
        ).scalars()
        lines = [
            texts.MY_LINE.format(
                number=t.number, status=texts.STATUS_NAMES[t.status], category=t.category
            )
            + (texts.MY_HANDED_OVER if t.worker_id == person.id != t.reporter_id else "")
            for t in rows
        ]
        text = "\n".join([texts.MY_HEADER, *lines]) if lines else texts.MY_EMPTY
        await reply(session, chat_id=person.id, message_id=message_id, text=text)
    services.wake()


async def cancel(services: Services, person: Person, message_id: int, arg: str) -> None:
    """Answer /cancel: withdraw one's own ticket before it is accepted."""
    number = parse_ticket_number(arg)
    now = services.clock()
    async with services.sessions.begin() as session:
        ticket = await find_by_number(session, number) if number else None
        if number is None:
            text = texts.CANCEL_USAGE
        elif ticket is None or ticket.reporter_id != person.id:
            text = texts.NOT_FOUND.format(number=number)
        elif transition_for(Status(ticket.status), Action.CANCEL) is None:
            text = texts.CANNOT_CANCEL.format(
                number=ticket.number, status=texts.STATUS_NAMES[ticket.status]
            )
        else:
            await gate.move(
                session,
                ticket,
                Action.CANCEL,
                roles=Role.REPORTER,
                actor_id=person.id,
                note=None,
                at=now,
                timetable=services,
            )
            text = texts.CANCELLED.format(number=ticket.number)
        await reply(session, chat_id=person.id, message_id=message_id, text=text)
    services.wake()
