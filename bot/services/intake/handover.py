"""Hand-over: a grid worker turns a resident's post into a ticket (a reply of /report or 上报
in the grid group), or forwards one to the bot privately; the resident is told where to follow."""

from __future__ import annotations

from sqlalchemy import select

from bot import texts
from bot.domain import PromptStatus
from bot.intents import Notice
from bot.services.context import Person, Services, clean_text
from bot.services.intake.filing import Source, acknowledgement, existing_ticket, open_ticket
from bot.services.intake.grid_threads import (
    Heard,
    file_in_thread,
    grid_of,
    is_worker,
    report_score,
)
from bot.services.intake.group_prompts import remove_prompt
from bot.services.intake.merge import merged_into
from bot.services.notices.messages import reply
from bot.services.tickets import remember_user
from storage.models import (
    GridWorker,
    GroupPrompt,
    User,
)
from storage.outbox import enqueue


async def worker_report(
    services: Services,
    worker: Person,
    chat_id: int,
    command_message_id: int,
    author: Person | None,
    message_id: int | None,
    text: str,
) -> Heard:
    """A grid worker's /report (or 上报) as a reply: open a ticket for the post's author."""
    now = services.clock()
    body = clean_text(text)[: services.max_text_length]
    async with services.sessions.begin() as session:
        grid = await grid_of(session, chat_id)
        if grid is None:
            await reply(
                session, chat_id=chat_id, message_id=command_message_id, text=texts.NOT_A_GRID
            )
            heard = Heard("silent")
        elif not await is_worker(session, chat_id, worker.id) and not services.is_admin(worker.id):
            await reply(
                session, chat_id=chat_id, message_id=command_message_id, text=texts.ONLY_WORKERS
            )
            heard = Heard("silent")
        elif author is None or message_id is None or not body:
            await reply(
                session, chat_id=chat_id, message_id=command_message_id, text=texts.REPORT_USAGE
            )
            heard = Heard("silent")
        else:
            source = Source(
                chat_id=chat_id, message_id=message_id, grid_chat_id=chat_id, worker_id=worker.id
            )
            existing = await existing_ticket(session, source)
            if existing is not None:
                heard = Heard("duplicate", existing.number)
            elif await merged_into(session, chat_id, message_id) is not None:
                heard = Heard("duplicate")
            else:
                await remember_user(session, author, started=None)
                await remember_user(session, worker, started=None)
                extraction = services.extractor.extract(body)
                ticket = await file_in_thread(
                    services, session, author, source, body, extraction, now, answer_to=message_id
                )
                heard = Heard("ticket", ticket.number) if ticket else Heard("duplicate")
                prompt = (
                    await session.execute(
                        select(GroupPrompt).where(
                            GroupPrompt.chat_id == chat_id,
                            GroupPrompt.source_message_id == message_id,
                            GroupPrompt.status == PromptStatus.OPEN,
                        )
                    )
                ).scalar_one_or_none()
                if prompt is not None:
                    await remove_prompt(session, prompt, PromptStatus.SUBMITTED)
    services.wake()
    return heard


async def forwarded(
    services: Services,
    worker: Person,
    message_id: int,
    text: str,
    origin: Person | None,
    hidden_name: str | None,
) -> Heard:
    """A grid worker forwards a resident's post in private: open it for the original author."""
    now = services.clock()
    body = clean_text(text)[: services.max_text_length]
    async with services.sessions.begin() as session:
        await remember_user(session, worker, started=now)
        grid_id = (
            await session.execute(
                select(GridWorker.grid_chat_id)
                .where(GridWorker.user_id == worker.id)
                .order_by(GridWorker.created_at)
                .limit(1)
            )
        ).scalar_one_or_none()
        source = Source(
            chat_id=worker.id,
            message_id=message_id,
            grid_chat_id=grid_id,
            worker_id=worker.id,
            reporter_name=hidden_name if origin is None else None,
        )
        existing = await existing_ticket(session, source)
        extraction = services.extractor.extract(body) if body else None
        if existing is not None:
            heard = Heard("duplicate", existing.number)
        elif grid_id is None:
            await reply(
                session, chat_id=worker.id, message_id=message_id, text=texts.FORWARD_NOT_WORKER
            )
            heard = Heard("silent")
        elif extraction is None or report_score(extraction) < services.group_ask_confidence:
            await reply(
                session, chat_id=worker.id, message_id=message_id, text=texts.FORWARD_NOT_REPORT
            )
            heard = Heard("silent")
        else:
            reporter = origin or worker
            await remember_user(session, reporter, started=None)
            ticket = await open_ticket(services, session, reporter, source, body, extraction, now)
            if ticket is None:
                heard = Heard("duplicate")
            else:
                if origin is not None:
                    ack = texts.WORKER_ACK.format(
                        name=origin.display_name, number=ticket.number, category=ticket.category
                    )
                    user = await session.get(User, origin.id)
                    if user is not None and user.started_at is not None:
                        await enqueue(
                            session,
                            key=f"ack:{ticket.id}",
                            chat_id=origin.id,
                            intent=Notice(acknowledgement(ticket)),
                            ticket_id=ticket.id,
                        )
                else:
                    ack = texts.WORKER_ACK_HIDDEN.format(
                        name=hidden_name or "", number=ticket.number, category=ticket.category
                    )
                await reply(
                    session,
                    chat_id=worker.id,
                    message_id=message_id,
                    text=ack,
                    ticket_id=ticket.id,
                )
                heard = Heard("ticket", ticket.number)
    services.wake()
    return heard
