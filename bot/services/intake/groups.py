"""Grid groups: listen where residents talk, ask when unsure, let grid workers hand posts over."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import texts
from bot.buttons import PromptAnswer
from bot.domain import ChatKind, EventKind, PromptStatus, Role
from bot.errors import Refusal
from bot.intents import Earlier, GroupAnswer, Key, Notice, Removal, keyboard
from bot.services import gate
from bot.services.context import Person, Services
from bot.services.handling import staff
from bot.services.handling.staff import ButtonAnswer
from bot.services.intake import merge, private_prompts, questions
from bot.services.intake.abuse import is_flood, over_report_limit
from bot.services.intake.filing import Source, acknowledgement, existing_ticket, open_ticket
from bot.services.intake.merge import merged_into
from bot.services.intake.reports import clean_text
from bot.services.supervision.unreachable import ticket_link
from bot.services.tickets import (
    deadline_text,
    remember_user,
    reply,
)
from nlp import Decision, Extraction, decide
from storage.chats import grid_binding
from storage.models import (
    BlockedUser,
    BoundChat,
    GridWorker,
    GroupPrompt,
    Ticket,
    User,
)
from storage.outbox import enqueue

GRID_CHAT = ChatKind.GRID


@dataclass(frozen=True, slots=True)
class Heard:
    """What the bot did with one group message: a ticket, a question, or nothing."""

    kind: str  # "ticket" | "asked" | "silent" | "duplicate" | "answer" | "not_grid" | "limited"
    number: str | None = None


def report_score(extraction: Extraction) -> float:
    """How likely the message is a report, 0..1, from the extractor's decision and confidence."""
    return extraction.confidence if extraction.is_report else 1.0 - extraction.confidence


def is_silent(services: Services, text: str) -> bool:
    """Tell, in memory, whether a grid-group post is chatter the bot neither answers nor
    files (the extractor's group decision at this deployment's thresholds)."""
    body = clean_text(text)[: services.max_text_length]
    if not body:
        return True
    decision = decide(
        services.extractor.extract(body),
        "group",
        ticket_at=services.group_confidence,
        ask_at=services.group_ask_confidence,
    )
    return decision is Decision.SILENT


async def grid_chat_ids(services: Services) -> frozenset[int]:
    """The chats bound as grid groups (the intake caches them to decide chatter in memory)."""
    async with services.sessions() as session:
        rows = await session.execute(select(BoundChat.chat_id).where(BoundChat.kind == GRID_CHAT))
        return frozenset(int(chat_id) for chat_id in rows.scalars())


async def grid_of(session: AsyncSession, chat_id: int) -> BoundChat | None:
    """Return the grid bound to this group chat, or None."""
    return await grid_binding(session, chat_id)


async def is_worker(session: AsyncSession, grid_chat_id: int, user_id: int) -> bool:
    """Tell whether the user is a grid worker of this grid."""
    return await session.get(GridWorker, (grid_chat_id, user_id)) is not None


async def is_blocked(session: AsyncSession, user_id: int) -> bool:
    """Tell whether an admin has blocked this user from filing reports."""
    return await session.get(BlockedUser, user_id) is not None


async def file_in_thread(
    services: Services,
    session: AsyncSession,
    reporter: Person,
    source: Source,
    body: str,
    extraction: Extraction,
    now: datetime,
    *,
    answer_to: int,
) -> Ticket | None:
    """Open (or join) a ticket from a group post and answer in the thread, no personal data."""
    merged = await merge.find_same_problem(services, session, source, body, extraction, now)
    if merged is not None:
        await merge.join(session, merged, reporter, source, body, now)
        ticket = merged
    else:
        opened = await open_ticket(services, session, reporter, source, body, extraction, now)
        if opened is None:
            return None
        ticket = opened
    user = await session.get(User, reporter.id)
    reachable = user is not None and user.started_at is not None and user.blocked_bot_at is None
    link = deep_link(services, ticket.number)
    if reachable:
        thread_text = (texts.GROUP_MERGED if merged else texts.GROUP_ACK).format(
            number=ticket.number
        )
        await enqueue(
            session,
            key=f"ack:{ticket.id}:{reporter.id}:{source.message_id}",
            chat_id=reporter.id,
            intent=Notice(
                texts.MERGED_ACK.format(number=ticket.number, deadline=deadline_text(ticket))
                if merged
                else acknowledgement(ticket)
            ),
            ticket_id=ticket.id,
        )
    else:
        template = texts.GROUP_MERGED_LINK if merged else texts.GROUP_ACK_LINK
        thread_text = template.format(number=ticket.number, link=link)
    await enqueue(
        session,
        key=f"thread:{source.chat_id}:{source.message_id}",
        chat_id=source.chat_id,
        intent=GroupAnswer(thread_text, reply_to=answer_to),
        ticket_id=ticket.id,
    )
    return ticket


def thread(message_id: int) -> dict[str, object]:
    """Reply parameters that answer a message in its thread (and survive its deletion)."""
    return {"message_id": message_id, "allow_sending_without_reply": True}


def deep_link(services: Services, number: str) -> str:
    """The t.me link that opens a private chat with the bot and follows one ticket."""
    return ticket_link(services.bot_username, number)


async def hear(
    services: Services, author: Person, chat_id: int, message_id: int, text: str
) -> Heard:
    """Read one message of a grid group: open a ticket, ask, or stay silent."""
    now = services.clock()
    body = clean_text(text)[: services.max_text_length]
    async with services.sessions.begin() as session:
        grid = await grid_of(session, chat_id)
        if grid is None:
            return Heard("not_grid")
        extraction = services.extractor.extract(body) if body else None
        decision = (
            Decision.SILENT
            if extraction is None
            else decide(
                extraction,
                "group",
                ticket_at=services.group_confidence,
                ask_at=services.group_ask_confidence,
            )
        )
        if extraction is None or decision == Decision.SILENT:
            # Most of a group's talk: one lookup, nothing written, nothing said.
            return Heard("silent")
        if await is_blocked(session, author.id):
            return Heard("silent")
        source = Source(chat_id=chat_id, message_id=message_id, grid_chat_id=chat_id)
        existing = await existing_ticket(session, source)
        if existing is not None:
            return Heard("duplicate", existing.number)
        if await merged_into(session, chat_id, message_id) is not None:
            return Heard("duplicate")
        if await is_flood(services, chat_id, body):
            return Heard("silent")
        if decision == Decision.TICKET:
            await remember_user(session, author, started=None)
            if await over_report_limit(services, author.id):
                await _tell_limit(services, session, author, chat_id, message_id, now)
                heard = Heard("limited")
            else:
                ticket = await file_in_thread(
                    services, session, author, source, body, extraction, now, answer_to=message_id
                )
                heard = Heard("ticket", ticket.number) if ticket else Heard("duplicate")
        else:
            heard = await _ask(services, session, author, chat_id, message_id, body, now)
    services.wake()
    return heard


async def _tell_limit(
    services: Services,
    session: AsyncSession,
    author: Person,
    chat_id: int,
    message_id: int,
    now: datetime,
) -> None:
    """Tell a resident over the hourly limit that their post was not filed: privately when the
    bot may write to them, else briefly in the thread (no personal data). Once an hour."""
    user = await session.get(User, author.id)
    hour = int(now.timestamp()) // 3600
    if user is not None and user.started_at is not None and user.blocked_bot_at is None:
        await enqueue(
            session,
            key=f"limit:{author.id}:{hour}",
            chat_id=author.id,
            intent=Notice(texts.GROUP_LIMIT_PRIVATE.format(limit=services.reports_per_hour)),
        )
    else:
        await enqueue(
            session,
            key=f"limit:{author.id}:{hour}",
            chat_id=chat_id,
            intent=GroupAnswer(texts.GROUP_LIMIT_THREAD, reply_to=message_id),
        )


async def _ask(
    services: Services,
    session: AsyncSession,
    author: Person,
    chat_id: int,
    message_id: int,
    body: str,
    now: datetime,
) -> Heard:
    prompt = await questions.store(
        session,
        chat_id=chat_id,
        message_id=message_id,
        author_id=author.id,
        text=body,
        expires_at=now + timedelta(seconds=services.group_prompt_ttl_seconds),
        now=now,
    )
    if prompt is None:
        return Heard("duplicate")
    await remember_user(session, author, started=None)
    await enqueue(
        session,
        key=prompt_key(prompt.id),
        chat_id=chat_id,
        intent=GroupAnswer(
            texts.GROUP_ASK,
            keyboard(
                [
                    Key(texts.BUTTON_SUBMIT, PromptAnswer(prompt.id, True)),
                    Key(texts.BUTTON_NOT, PromptAnswer(prompt.id, False)),
                ]
            ),
            reply_to=message_id,
        ),
    )
    return Heard("asked")


def prompt_key(prompt_id: int) -> str:
    """The outbox key of a prompt's question (its sent message is found through it)."""
    return f"gprompt:{prompt_id}"


async def remove_prompt(session: AsyncSession, prompt: GroupPrompt, status: PromptStatus) -> None:
    """Close a prompt (`status` says why): a group's question is deleted, a private one's
    buttons go."""
    if prompt.chat_id > 0:  # a question in a private chat: its buttons go, it stays
        await private_prompts.close(session, prompt, status)
        return
    prompt.status = status
    await enqueue(
        session,
        key=f"gprompt-del:{prompt.id}",
        chat_id=prompt.chat_id,
        intent=Removal(Earlier(outbox_key=prompt_key(prompt.id))),
    )


async def answer_prompt(
    services: Services, person: Person, prompt_id: int, choice: str
) -> ButtonAnswer:
    """提交为诉求 / 不是 on a prompt: only the author or a worker of that grid may answer."""
    if choice not in ("yes", "no"):
        return ButtonAnswer(texts.ALERT_INVALID, alert=True)
    now = services.clock()
    async with services.sessions.begin() as session:
        try:
            claim = await questions.claim(session, prompt_id, person.id, now, in_grid=True)
        except Refusal as no:
            return ButtonAnswer(str(no), alert=True)
        prompt = claim.prompt
        if choice == "no":
            await remove_prompt(session, prompt, PromptStatus.DISMISSED)
            await questions.record_no(session, prompt, person.id, now)
            answer = ButtonAnswer(texts.ALERT_DISMISSED)
        else:
            author = await session.get(User, prompt.author_id)
            reporter = Person(
                prompt.author_id,
                author.first_name if author else "",
                author.username if author else None,
            )
            source = Source(
                chat_id=prompt.chat_id,
                message_id=prompt.source_message_id,
                grid_chat_id=prompt.chat_id,
                worker_id=person.id if claim.by_worker else None,
            )
            extraction = services.extractor.extract(prompt.text)
            await remove_prompt(session, prompt, PromptStatus.SUBMITTED)
            await file_in_thread(
                services,
                session,
                reporter,
                source,
                prompt.text,
                extraction,
                now,
                answer_to=prompt.source_message_id,
            )
            answer = ButtonAnswer(texts.ALERT_SUBMITTED)
    services.wake()
    return answer


async def expire_prompts(services: Services) -> int:
    """Remove unanswered prompts whose time is up; return how many were removed."""
    now = services.clock()
    async with services.sessions.begin() as session:
        due = (
            await session.execute(
                select(GroupPrompt)
                .where(GroupPrompt.status == PromptStatus.OPEN, GroupPrompt.expires_at < now)
                .limit(500)
                .with_for_update(skip_locked=True)
            )
        ).scalars()
        count = 0
        for prompt in due:
            await remove_prompt(session, prompt, PromptStatus.EXPIRED)
            count += 1
    if count:
        services.wake()
    return count


async def handle_group_text(
    services: Services,
    person: Person,
    chat_id: int,
    message_id: int,
    text: str,
    photo: str | None = None,
    reply_to: int | None = None,
) -> Heard:
    """Route a group message: a post in a grid group, or an answer in a staff chat (a reply
    to the bot's prompt; a 办结 note may come with a photo)."""
    heard = await hear(services, person, chat_id, message_id, text)
    if heard.kind != "not_grid":
        return heard
    if await staff.handle_staff_chat_text(
        services, person, chat_id, message_id, text, photo=photo, reply_to=reply_to
    ):
        return Heard("answer")
    return Heard("silent")


async def split(
    services: Services,
    worker: Person,
    chat_id: int,
    command_message_id: int,
    message_id: int | None,
) -> str | None:
    """Undo a wrong merge: the replied-to post becomes a ticket of its own; return its number."""
    now = services.clock()
    number: str | None = None
    async with services.sessions.begin() as session:
        allowed = await is_worker(session, chat_id, worker.id) or services.is_admin(worker.id)
        joined = await merged_into(session, chat_id, message_id) if message_id else None
        if not allowed:
            text = texts.ONLY_WORKERS
        elif message_id is None:
            text = texts.SPLIT_USAGE
        elif joined is None:
            text = texts.SPLIT_NOT_MERGED
        else:
            original = await session.get(Ticket, joined.ticket_id, with_for_update=True)
            assert original is not None
            await session.delete(joined)
            await session.flush()
            await gate.note(
                session,
                original,
                EventKind.SPLIT,
                role=Role.WORKER,
                actor_id=worker.id,
                note=joined.text[:500],
                at=now,
            )
            author = await session.get(User, joined.user_id)
            reporter = Person(
                joined.user_id,
                author.first_name if author else "",
                author.username if author else None,
            )
            source = Source(
                chat_id=chat_id, message_id=message_id, grid_chat_id=chat_id, worker_id=None
            )
            extraction = services.extractor.extract(joined.text)
            ticket = await open_ticket(
                services, session, reporter, source, joined.text, extraction, now
            )
            assert ticket is not None
            number = ticket.number
            text = texts.SPLIT_DONE.format(number=number)
            await enqueue(
                session,
                key=f"split:{ticket.id}",
                chat_id=reporter.id,
                intent=Notice(acknowledgement(ticket)),
                ticket_id=ticket.id,
            )
        await reply(session, chat_id=chat_id, message_id=command_message_id, text=text)
    services.wake()
    return number
