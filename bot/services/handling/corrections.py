"""Staff correct what the bot got wrong: a ticket's category (改分类) or that it is a report
at all (非诉求). Each correction is audited, re-routes or closes the ticket, updates its cards
and is kept as a labelled example for growing the rules.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from bot import texts
from bot.buttons import CategoryPick
from bot.categories import shipped_tree
from bot.domain import Action, HuiyinError, InvalidInput, PendingKind, Role
from bot.intents import ButtonsOff, Earlier, Key, Keyboard, Notice
from bot.services import gate
from bot.services.context import Person, Services
from bot.services.handling import learning, prompts, routing
from bot.services.handling.work import Outcome, Work
from bot.services.notices.cards import announce
from bot.services.notices.messages import notify_reporter
from bot.services.tickets import load_ticket
from storage.chats import Place
from storage.models import PendingInput, StaffMember, Ticket
from storage.outbox import enqueue


def choices(ticket: Ticket) -> list[str]:
    """The extractor's top 3 categories recorded at filing (indices are the button data)."""
    return [c for c in (ticket.category_choices or "").splitlines() if c]


def question(ticket: Ticket) -> str:
    """The question under which staff tap or type the right category."""
    return texts.ASK_CATEGORY.format(number=ticket.number, category=ticket.category)


def keyboard(ticket: Ticket) -> Keyboard:
    """One button per next best guess (the current category left out)."""
    return tuple(
        (Key(label, CategoryPick(ticket.id, i)),)
        for i, label in enumerate(choices(ticket)[:10])
        if label != ticket.category
    )


async def ask(
    services: Services,
    session: AsyncSession,
    person: Person,
    chat_id: int | Place,
    ticket: Ticket,
    now: datetime,
) -> None:
    """Offer the next best guesses as buttons; a reply to the question names another."""
    key = f"ask:{PendingKind.CATEGORY_TO}:{ticket.id}:{person.id}:{int(now.timestamp() * 1000)}"
    await prompts.remember(
        services, session, person.id, chat_id, PendingKind.CATEGORY_TO, ticket, now, prompt_key=key
    )
    await enqueue(
        session,
        key=key,
        chat_id=chat_id,
        intent=Notice(question(ticket), keyboard(ticket)),
        ticket_id=ticket.id,
    )


async def choose(
    services: Services,
    person: Person,
    chat_id: int,
    message_id: int | None,
    ticket_id: int,
    index: int,
) -> Outcome:
    """A tap on one of the offered categories under the question (raises NotFound)."""
    now = services.clock()
    async with services.sessions.begin() as session:
        if await session.get(StaffMember, person.id) is None:
            return Outcome(texts.ALERT_NOT_STAFF, done=False)
        ticket = await load_ticket(session, ticket_id, lock=True)
        offered = choices(ticket)
        if not 0 <= index < len(offered):
            return Outcome(texts.ALERT_INVALID, done=False)
        try:
            work = Work(services, session, person, ticket, Role.STAFF, now)
            outcome = await apply(work, offered[index])
        except HuiyinError as exc:
            return Outcome(str(exc), done=False)
        if outcome.done:
            await session.execute(
                delete(PendingInput).where(
                    PendingInput.user_id == person.id,
                    PendingInput.chat_id == chat_id,
                    PendingInput.kind == PendingKind.CATEGORY_TO,
                )
            )
            if message_id is not None:
                await enqueue(
                    session,
                    key=f"recat-off:{chat_id}:{message_id}",
                    chat_id=chat_id,
                    intent=ButtonsOff(Earlier(message_id=message_id)),
                    ticket_id=ticket.id,
                )
                await enqueue(
                    session,
                    key=f"recat-done:{chat_id}:{message_id}:{index}",
                    chat_id=chat_id,
                    intent=Notice(outcome.text, reply_to=message_id),
                    ticket_id=ticket.id,
                )
    services.wake()
    return outcome


async def perform(work: Work) -> Outcome:
    """The category a staff member typed in answer to the question."""
    body = work.note
    match = shipped_tree().find(body)
    if match.path is None:
        if match.candidates:
            shown = "、".join(match.candidates[:6]) + ("……" if len(match.candidates) > 6 else "")
            return Outcome(
                texts.CATEGORY_AMBIGUOUS.format(text=body[:40], matches=shown), done=False
            )
        return Outcome(texts.CATEGORY_UNKNOWN.format(text=body[:40]), done=False)
    return await apply(work, match.path)


async def apply(work: Work, category: str) -> Outcome:
    """Change the category, re-route by the routing rules, audit, update the cards, learn."""
    services, session, ticket = work.services, work.session, work.ticket
    roles = await routing.roles_for(session, work.person.id, ticket)
    work = work.acting_as(gate.authorise(ticket, Action.RECATEGORIZE, roles)[1])
    if category == ticket.category:
        raise InvalidInput(texts.CATEGORY_SAME.format(number=ticket.number, category=category))
    old = ticket.category
    # 属地 sends a grid's report to its community first; a corrected category is the
    # category rules' business, so the grid is not asked again.
    target = services.directory.get(services.directory.route(category))
    moved = (target.code if target else None) != ticket.department
    reroute = Action.REROUTE if target else Action.REROUTE_DISPATCH
    if moved:
        gate.authorise(ticket, reroute, frozenset({work.role}))  # refuse before any change
    source = routing.holder_name(ticket)
    ticket.category = category
    await work.move(Action.RECATEGORIZE, f"{old} → {category}")
    if moved:
        ticket.department = target.code if target else None
        ticket.department_name = target.name if target else None
        event = await work.move(reroute, routing.holder_name(ticket))
        await announce(
            session,
            ticket,
            await routing.holder_chats(session, ticket),
            key=f"recategorized:{event.id}",
            text=texts.NOTICE_RECATEGORIZED.format(
                number=ticket.number, category=category, source=source
            ),
            tag=f"recategorize{event.id}",
        )
    await _learn(work, learning.CATEGORY, category)
    if moved:
        return Outcome(
            texts.STAFF_DONE_REROUTED.format(
                number=ticket.number, category=category, name=routing.holder_name(ticket)
            )
        )
    return Outcome(texts.STAFF_DONE_RECATEGORIZE.format(number=ticket.number, category=category))


async def not_report(work: Work) -> Outcome:
    """非诉求: close a grid-group ticket that is not a report, tell its reporters politely."""
    ticket = work.ticket
    event = await work.move(Action.NOT_REPORT, None)
    await notify_reporter(
        work.session,
        ticket,
        f"not_report:{event.id}",
        texts.NOTIFY_NOT_REPORT.format(number=ticket.number),
    )
    await _learn(work, learning.NOT_REPORT)
    return Outcome(texts.ALERT_NOT_REPORT.format(number=ticket.number))


async def _learn(work: Work, source: str, category: str = "") -> None:
    """Keep the correction as a labelled example for growing the rules."""
    await learning.record(
        work.session,
        source=source,
        channel=learning.channel_of(work.ticket),
        text=work.ticket.text,
        actor_id=work.person.id,
        at=work.now,
        ticket=work.ticket,
        category=category,
    )
