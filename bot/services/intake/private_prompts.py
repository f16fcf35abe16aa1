"""One-tap questions in a private chat: "需要登记为诉求吗？" [登记] [不用了].

A private message that may be a problem and is not clearly one is never turned away: the bot
asks, naming the category it would use. 登记 files it exactly as a confident report is filed;
不用了 is kept as a labelled "not a report" example. The question is a `GroupPrompt` row whose
chat is the resident's private chat (a positive chat id); once answered or expired its buttons
are taken off (it stays in the chat, which still reads in order).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot import texts
from bot.buttons import QuestionAnswer
from bot.domain import AttachmentKind, PromptStatus
from bot.errors import Refusal
from bot.intents import ButtonsOff, Earlier, Key, Notice, keyboard
from bot.services.context import ButtonAnswer, Person, Services
from bot.services.intake import questions
from bot.services.intake.attachments import add_evidence
from bot.services.intake.filing import Source, file_private
from bot.services.notices.messages import reply
from nlp import Extraction
from storage.models import GroupPrompt
from storage.outbox import enqueue


def question_key(prompt_id: int) -> str:
    """The outbox key of the question (its sent message is edited through it)."""
    return f"pprompt:{prompt_id}"


async def ask(
    services: Services,
    session: AsyncSession,
    person: Person,
    message_id: int,
    body: str,
    extraction: Extraction,
    now: datetime,
    photo_file_id: str | None = None,
) -> bool:
    """Ask the resident whether to file this message (a photo's caption keeps its photo);
    False when it was already asked."""
    prompt = await questions.store(
        session,
        chat_id=person.id,
        message_id=message_id,
        author_id=person.id,
        text=body,
        expires_at=now + timedelta(seconds=services.private_prompt_ttl_seconds),
        now=now,
        photo_file_id=photo_file_id,
    )
    if prompt is None:
        return False
    await enqueue(
        session,
        key=question_key(prompt.id),
        chat_id=person.id,
        intent=Notice(
            texts.PRIVATE_ASK.format(category=extraction.category_label),
            keyboard(
                [
                    Key(texts.BUTTON_FILE, QuestionAnswer(prompt.id, file=True)),
                    Key(texts.BUTTON_NO_THANKS, QuestionAnswer(prompt.id, file=False)),
                ]
            ),
            reply_to=message_id,
        ),
    )
    return True


async def close(session: AsyncSession, prompt: GroupPrompt, status: PromptStatus) -> None:
    """Mark the question answered (or expired) and take its buttons off."""
    prompt.status = status
    await enqueue(
        session,
        key=f"pprompt-off:{prompt.id}",
        chat_id=prompt.chat_id,
        intent=ButtonsOff(Earlier(outbox_key=question_key(prompt.id))),
    )


async def answer(services: Services, person: Person, prompt_id: int, file: bool) -> ButtonAnswer:
    """登记 / 不用了 under a private question: only the resident asked may answer, once."""
    now = services.clock()
    async with services.sessions.begin() as session:
        try:
            claim = await questions.claim(session, prompt_id, person.id, now, in_grid=False)
        except Refusal as no:
            return ButtonAnswer(str(no), alert=True)
        prompt = claim.prompt
        if not file:
            await close(session, prompt, PromptStatus.DISMISSED)
            await reply(
                session,
                chat_id=prompt.chat_id,
                message_id=prompt.source_message_id,
                suffix=":no",
                text=texts.PRIVATE_NOT_FILED,
            )
            await questions.record_no(session, prompt, person.id, now)
            outcome = ButtonAnswer(texts.ALERT_DISMISSED)
        else:
            source = Source(chat_id=prompt.chat_id, message_id=prompt.source_message_id)
            extraction = services.extractor.extract(prompt.text)
            kind, ticket = await file_private(
                services, session, person, source, prompt.text, extraction, now, suffix=":filed"
            )
            if ticket is not None and prompt.photo_file_id:
                # As a confident photo report: the photo is on the ticket and shown to staff.
                await add_evidence(
                    session,
                    ticket,
                    person.id,
                    prompt.chat_id,
                    prompt.source_message_id,
                    now,
                    kind=AttachmentKind.PHOTO,
                    file_id=prompt.photo_file_id,
                )
            if kind == "limited":
                outcome = ButtonAnswer(texts.TOO_MANY_REPORTS, alert=True)
            else:
                await close(session, prompt, PromptStatus.SUBMITTED)
                outcome = ButtonAnswer(texts.ALERT_FILED)
    services.wake()
    return outcome
