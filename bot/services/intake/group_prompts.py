"""Asking in a grid group when a post may be a report: the question with its two buttons, the
author's (or a grid worker's) answer, and questions that expire unanswered."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import texts
from bot.buttons import PromptAnswer
from bot.domain import PromptStatus
from bot.errors import Refusal
from bot.intents import Earlier, GroupAnswer, Key, Removal, keyboard
from bot.services.context import ButtonAnswer, Person, Services
from bot.services.intake import private_prompts, questions
from bot.services.intake.filing import Source
from bot.services.intake.grid_threads import Heard, file_in_thread
from bot.services.tickets import remember_user
from storage.models import GroupPrompt, User
from storage.outbox import enqueue


async def ask(
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
