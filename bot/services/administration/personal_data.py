"""Personal data over time (PIPL): retention, de-identification, /mydata and /forget.

De-identifying a ticket keeps what statistics need (category, intent, urgency, department,
times, deadlines, rating scores, the audit trail's actions) and removes who it was: the text
loses phone and ID numbers, the reporter, co-reporters and raters become the anonymous user 0,
names and coordinates are dropped, photos are forgotten.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import delete, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot import texts
from bot.domain import OPEN_STATUSES, PromptStatus, Role, Status
from bot.intents import Notice, dumps
from bot.privacy import mask_text
from bot.services.context import Person, Services
from bot.services.tickets import remember_user
from storage.models import (
    Admin,
    Attachment,
    BlockedUser,
    Followup,
    GridWorker,
    GroupPrompt,
    OutboxMessage,
    OutboxStatus,
    PendingInput,
    StaffMember,
    Ticket,
    TicketEvent,
    TicketRating,
    TicketReporter,
    User,
)
from storage.outbox import enqueue, insert_ignore

ANONYMOUS = 0
FINISHED = (Status.CLOSED, Status.CANCELLED, Status.RETURNED)
KEEP_SENT_DAYS = 7  # sent messages (they hold residents' words) are kept this long
_MASKED_NUMBER = re.compile(r"\d[\d\- ]*\*{4,}\d*[Xx]?")


def scrub(text: str | None) -> str | None:
    """Remove phone and ID numbers from free text entirely (not just mask them)."""
    if text is None:
        return None
    return _MASKED_NUMBER.sub("［号码已删除］", mask_text(text))


@dataclass
class Pruned:
    """What one retention pass removed or de-identified."""

    outbox_rows: int = 0
    tickets: int = 0
    prompts: int = 0
    users: int = 0


@dataclass
class Forgotten:
    """What /forget de-identified, and the tickets that must stay while they are handled."""

    tickets: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)


async def _anonymous(session: AsyncSession) -> None:
    await insert_ignore(
        session, User, {"id": ANONYMOUS, "first_name": "", "username": None}, ["id"]
    )


async def deidentify_ticket(session: AsyncSession, ticket: Ticket) -> None:
    """Replace everything that identifies people in one finished ticket; keep the numbers."""
    await _anonymous(session)
    ticket.text = scrub(ticket.text) or ""
    ticket.location = scrub(ticket.location)
    ticket.resolution_note = scrub(ticket.resolution_note)
    ticket.return_reason = scrub(ticket.return_reason)
    ticket.reopen_reason = scrub(ticket.reopen_reason)
    ticket.reporter_id = ANONYMOUS
    ticket.reporter_name = None
    ticket.source_chat_id = ANONYMOUS
    ticket.source_message_id = -ticket.id  # unique per ticket, points at nothing
    for reporter in (
        await session.execute(select(TicketReporter).where(TicketReporter.ticket_id == ticket.id))
    ).scalars():
        reporter.user_id = ANONYMOUS
        reporter.source_chat_id = ANONYMOUS
        reporter.source_message_id = -reporter.id
        reporter.text = scrub(reporter.text) or ""
    await _forget_raters(session, ticket.id, None)
    for event in (
        await session.execute(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id))
    ).scalars():
        if event.role == Role.REPORTER:
            event.actor_id = None
        event.note = scrub(event.note)
    await session.execute(
        update(Attachment)
        .where(Attachment.ticket_id == ticket.id)
        .values(file_id=None, latitude=None, longitude=None, source_chat_id=ANONYMOUS,
                source_message_id=-Attachment.id)
    )  # fmt: skip
    await session.execute(delete(PendingInput).where(PendingInput.ticket_id == ticket.id))
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.ticket_id == ticket.id, OutboxMessage.status != OutboxStatus.PENDING)
        .values(payload=dumps(Notice(texts.DEIDENTIFIED)), kind=Notice.kind.value)
    )


async def prune(services: Services, now: datetime, retention_days: int) -> Pruned:
    """The daily pass: drop old sent messages, de-identify finished tickets past retention,
    delete old group prompts and residents the bot no longer needs to know."""
    done = Pruned()
    cutoff = now - timedelta(days=retention_days)
    async with services.sessions.begin() as session:
        sent = await session.execute(
            delete(OutboxMessage).where(
                OutboxMessage.status != OutboxStatus.PENDING,
                OutboxMessage.created_at < now - timedelta(days=KEEP_SENT_DAYS),
            )
        )
        done.outbox_rows = sent.rowcount or 0  # type: ignore[attr-defined]
        old_prompts = (GroupPrompt.status != PromptStatus.OPEN, GroupPrompt.created_at < cutoff)
        prompts = await session.execute(delete(GroupPrompt).where(*old_prompts))
        done.prompts = prompts.rowcount or 0  # type: ignore[attr-defined]
    while True:  # in batches: one transaction never holds the whole table
        async with services.sessions.begin() as session:
            batch = (
                (
                    await session.execute(
                        select(Ticket)
                        .where(
                            Ticket.status.in_(FINISHED),
                            Ticket.updated_at < cutoff,
                            Ticket.reporter_id != ANONYMOUS,
                        )
                        .limit(200)
                    )
                )
                .scalars()
                .all()
            )
            for ticket in batch:
                await deidentify_ticket(session, ticket)
            done.tickets += len(batch)
        if len(batch) < 200:
            break
    async with services.sessions.begin() as session:
        needed = or_(
            exists().where(Ticket.reporter_id == User.id),
            exists().where(TicketReporter.user_id == User.id),
            exists().where(StaffMember.user_id == User.id),
            exists().where(GridWorker.user_id == User.id),
            exists().where(Admin.user_id == User.id),
            exists().where(BlockedUser.user_id == User.id),
            exists().where(PendingInput.user_id == User.id),
        )
        gone = await session.execute(
            delete(User).where(User.id != ANONYMOUS, User.created_at < cutoff, ~needed)
        )
        done.users = gone.rowcount or 0  # type: ignore[attr-defined]
    return done


async def _their_tickets(session: AsyncSession, user_id: int) -> list[Ticket]:
    co = select(TicketReporter.ticket_id).where(TicketReporter.user_id == user_id)
    return list(
        (
            await session.execute(
                select(Ticket)
                .where(or_(Ticket.reporter_id == user_id, Ticket.id.in_(co)))
                .order_by(Ticket.id)
            )
        ).scalars()
    )


async def send_my_data(services: Services, who: Person, message_id: int) -> None:
    """/mydata: send residents everything the bot holds about them, in as many messages as
    it takes."""
    async with services.sessions.begin() as session:
        await remember_user(session, who, started=services.clock())
        user = await session.get(User, who.id)
        assert user is not None
        lines = [
            texts.MYDATA_HEADER.format(
                id=who.id,
                name=user.first_name or "-",
                username=f"@{user.username}" if user.username else "-",
                since=user.created_at.strftime("%Y-%m-%d"),
            )
        ]
        roles = [
            label
            for model, label in (
                (StaffMember, texts.MYDATA_ROLE_STAFF),
                (Admin, texts.MYDATA_ROLE_ADMIN),
                (BlockedUser, texts.MYDATA_ROLE_BLOCKED),
            )
            if await session.get(model, who.id) is not None
        ]
        if await session.scalar(select(GridWorker.user_id).where(GridWorker.user_id == who.id)):
            roles.append(texts.MYDATA_ROLE_WORKER)
        if roles:
            lines.append(texts.MYDATA_ROLES.format(roles="、".join(roles)))
        tickets = await _their_tickets(session, who.id)
        for ticket in tickets:
            lines.append(
                texts.MYDATA_TICKET.format(
                    number=ticket.number,
                    status=texts.STATUS_NAMES.get(ticket.status, ticket.status),
                    at=ticket.created_at.strftime("%Y-%m-%d %H:%M"),
                    text=ticket.text,
                )
            )
            rated = await session.execute(
                select(TicketRating.score, TicketRating.reason).where(
                    TicketRating.ticket_id == ticket.id, TicketRating.rater_id == who.id
                )
            )
            for score, reason in rated.all():
                lines.append(
                    texts.MYDATA_RATING.format(
                        score=texts.RATING_NAMES.get(score, score), reason=reason or "-"
                    )
                )
            shared = await session.scalar(
                select(Attachment.id).where(Attachment.ticket_id == ticket.id).limit(1)
            )
            if shared is not None:
                lines.append(texts.MYDATA_ATTACHMENTS)
        if not tickets:
            lines.append(texts.MYDATA_NO_TICKETS)
        lines.append(texts.MYDATA_FOOTER)
        for i, chunk in enumerate(_chunks(lines, 3800)):
            await enqueue(
                session, key=f"mydata:{who.id}:{message_id}:{i}", chat_id=who.id,
                intent=Notice(chunk),
            )  # fmt: skip
    services.wake()


def _chunks(lines: list[str], limit: int) -> list[str]:
    out: list[str] = []
    current = ""
    for line in lines:
        line = line[:limit]
        if current and len(current) + len(line) + 1 > limit:
            out.append(current)
            current = ""
        current = f"{current}\n{line}" if current else line
    return [*out, current] if current else out


async def forget_me(services: Services, who: Person, message_id: int) -> Forgotten:
    """/forget: de-identify the resident's finished tickets and their name; say which tickets
    must stay while they are handled, and what is kept anonymously and why."""
    result = Forgotten()
    async with services.sessions.begin() as session:
        for ticket in await _their_tickets(session, who.id):
            if ticket.status in OPEN_STATUSES or ticket.status == Status.RESOLVED:
                result.kept.append(ticket.number)
            elif ticket.reporter_id == who.id:
                await deidentify_ticket(session, ticket)
                result.tickets.append(ticket.number)
            else:  # a co-reporter of someone else's finished ticket: only their part goes
                for reporter in (
                    await session.execute(
                        select(TicketReporter).where(
                            TicketReporter.ticket_id == ticket.id,
                            TicketReporter.user_id == who.id,
                        )
                    )
                ).scalars():
                    await session.delete(reporter)
                await _forget_raters(session, ticket.id, who.id)
                result.tickets.append(ticket.number)
        if not result.kept:
            user = await session.get(User, who.id)
            if user is not None:
                user.first_name, user.username = "", None
            await session.execute(delete(PendingInput).where(PendingInput.user_id == who.id))
        text = texts.FORGET_DONE.format(count=len(result.tickets))
        if result.kept:
            text += texts.FORGET_KEPT.format(numbers="、".join(result.kept))
        text += texts.FORGET_WHAT_STAYS
        await enqueue(
            session, key=f"reply:{who.id}:{message_id}", chat_id=who.id, intent=Notice(text)
        )
    services.wake()
    return result


async def _forget_raters(session: AsyncSession, ticket_id: int, rater_id: int | None) -> None:
    """Replace raters' ids on a ticket (one rater, or all) while keeping their verdicts.

    A rating and its 回访 answers share the stand-in id, so the statistics still pair them.
    """
    ratings = select(TicketRating).where(TicketRating.ticket_id == ticket_id)
    followups = select(Followup).where(Followup.ticket_id == ticket_id)
    if rater_id is not None:
        ratings = ratings.where(TicketRating.rater_id == rater_id)
        followups = followups.where(Followup.rater_id == rater_id)
    stand_in: dict[tuple[int, int], int] = {}
    for rating in (await session.execute(ratings)).scalars():
        if rating.rater_id >= 0:
            stand_in[(rating.round, rating.rater_id)] = -rating.id
            rating.rater_id = -rating.id  # unique per (ticket, round); the score stays
        rating.reason = scrub(rating.reason) if rater_id is None else None
    for answers in (await session.execute(followups)).scalars():
        if answers.rater_id >= 0:
            answers.rater_id = stand_in.get((answers.round, answers.rater_id), -answers.id)
