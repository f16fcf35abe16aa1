"""One-tap questions under a resident's message, privately ("需要登记为诉求吗？" [登记] [不用了])
or in a grid group ([提交为诉求] [不是]): one `GroupPrompt` row each, and the one place that
decides who may answer it and whether it is still open.

A private question (its chat is the resident's own, a positive id) is answered by that resident
only; a grid group's (a negative id) by the post's author or a grid worker of that grid. Either
is answered once, before it expires.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import texts
from bot.domain import PromptStatus
from bot.errors import NotAllowed, NotFound, Stale
from bot.services.handling import learning
from storage.chats import grid_binding
from storage.models import GridWorker, GroupPrompt
from storage.outbox import insert_ignore


async def store(
    session: AsyncSession,
    *,
    chat_id: int,
    message_id: int,
    author_id: int,
    text: str,
    expires_at: datetime,
    now: datetime,
    photo_file_id: str | None = None,
) -> GroupPrompt | None:
    """Store an open question under a message; None when that message was already asked about."""
    inserted = await insert_ignore(
        session,
        GroupPrompt,
        {
            "chat_id": chat_id,
            "source_message_id": message_id,
            "author_id": author_id,
            "text": text,
            "status": PromptStatus.OPEN,
            "expires_at": expires_at,
            "created_at": now,
            "photo_file_id": photo_file_id,
        },
        ["chat_id", "source_message_id"],
    )
    if not inserted:
        return None
    return (
        await session.execute(
            select(GroupPrompt).where(
                GroupPrompt.chat_id == chat_id, GroupPrompt.source_message_id == message_id
            )
        )
    ).scalar_one()


@dataclass(frozen=True, slots=True)
class Claim:
    """An open question locked for its answer, and whether a grid worker answers it."""

    prompt: GroupPrompt
    by_worker: bool = False


async def claim(
    session: AsyncSession, prompt_id: int, person_id: int, now: datetime, *, in_grid: bool
) -> Claim:
    """Lock a question for this person's answer, or refuse: NotFound (no such question where
    the button was), NotAllowed (not theirs to answer), Stale (answered or expired)."""
    prompt = await session.get(GroupPrompt, prompt_id, with_for_update=True)
    if prompt is None or (prompt.chat_id < 0) != in_grid:
        raise NotFound(texts.ALERT_INVALID)
    if in_grid and await grid_binding(session, prompt.chat_id) is None:
        raise NotFound(texts.ALERT_INVALID)
    by_worker = False
    if person_id != prompt.author_id:
        if not in_grid:
            raise NotAllowed(texts.ALERT_NOT_YOUR_QUESTION)
        if await session.get(GridWorker, (prompt.chat_id, person_id)) is None:
            raise NotAllowed(texts.ALERT_PROMPT_NOT_YOURS)
        by_worker = True
    if prompt.status != PromptStatus.OPEN or prompt.expires_at < now:
        raise Stale(texts.ALERT_PROMPT_GONE)
    return Claim(prompt, by_worker)


async def record_no(
    session: AsyncSession, prompt: GroupPrompt, person_id: int, now: datetime
) -> None:
    """Keep a 不用了 / 不是 answer as a labelled "not a report" example of its channel."""
    private = prompt.chat_id > 0
    await learning.record(
        session,
        source=learning.PRIVATE_NO if private else learning.GROUP_NO,
        channel=learning.PRIVATE if private else learning.GROUP,
        text=prompt.text,
        actor_id=person_id,
        at=now,
    )
