"""The staff card of a ticket: what it says, which buttons each chat sees, posting a new live
card and editing the cards already posted."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import texts
from bot.buttons import CardPress, ContactPress
from bot.domain import OPEN_STATUSES, Action, Role, Status, Urgency, allowed_actions
from bot.intents import Card, CardUpdate, Key, Keyboard, Kind, keyboard
from bot.privacy import mask_id, mask_name, mask_text
from bot.services.handling import evidence, routing
from bot.services.notices.messages import tell_chats
from bot.services.tickets import format_time, reporter_ids
from storage.chats import Place
from storage.models import OutboxMessage, StaffCard, Ticket, TicketEvent, TicketRating, User
from storage.outbox import enqueue

CARD_TEXT_LIMIT = 1500


def _category_text(ticket: Ticket) -> str:
    return ticket.category or "其他"


# Card buttons, by row; which of them show is the state machine's answer for the chat's roles.
CARD_ROWS: tuple[tuple[Action, ...], ...] = (
    (Action.ACCEPT, Action.RESOLVE, Action.RETURN, Action.SEND_BACK),
    (Action.ASSIGN, Action.TRANSFER, Action.ASSIST, Action.REQUEST_EXTENSION, Action.ESCALATE),
    (Action.RECATEGORIZE, Action.NOT_REPORT),
)


async def chat_roles(
    session: AsyncSession, ticket: Ticket, chat_id: int | Place
) -> frozenset[Role]:
    """The roles whose buttons a chat's card shows: the holder's chat acts, others watch."""
    department = await routing.chat_department(session, chat_id)
    if department is None:
        return frozenset()
    if department == routing.DISPATCH:
        if await routing.dispatcher_holds(session, ticket):
            return frozenset({Role.DISPATCHER})
        return frozenset()
    return frozenset({Role.STAFF}) if department == ticket.department else frozenset()


async def _buttons(session: AsyncSession, ticket: Ticket, roles: frozenset[Role]) -> Keyboard:
    allowed = set(allowed_actions(Status(ticket.status), roles))
    if Action.ASSIGN in allowed and not await routing.any_department_chat(session):
        allowed.discard(Action.ASSIGN)  # nowhere to dispatch to: the dispatch chat handles it
    if ticket.grid_chat_id is None:
        allowed.discard(Action.NOT_REPORT)  # the resident wrote to the bot: it is a report
    # 联系方式 where the chat handles the ticket (保密: the dispatch chat only).
    contact = (
        bool(roles)
        and (ticket.status in OPEN_STATUSES or ticket.status == Status.RESOLVED)
        and (not ticket.confidential or Role.DISPATCHER in roles)
    )
    return keyboard(
        *(
            [Key(texts.BUTTON_NAMES[a], CardPress(a, ticket.id)) for a in row if a in allowed]
            for row in CARD_ROWS
        ),
        [Key(texts.BUTTON_CONTACT, ContactPress(ticket.id))] if contact else [],
    )


async def render_card(
    session: AsyncSession,
    ticket: Ticket,
    roles: frozenset[Role] = frozenset(),
    *,
    fresh: bool = False,
) -> tuple[str, Keyboard]:
    """Render the staff card of a ticket (personal data masked) and the buttons for `roles`;
    `fresh`: the ticket was opened in this transaction (no evidence, co-reporters, assists)."""
    reporter = await session.get(User, ticket.reporter_id)
    name = reporter.first_name if reporter else ""
    body = mask_text(ticket.text)
    if len(body) > CARD_TEXT_LIMIT:
        body = body[:CARD_TEXT_LIMIT] + texts.CARD_TRUNCATED.format(length=len(ticket.text))
    extra = ""
    if ticket.status == Status.RESOLVED or ticket.status == Status.CLOSED:
        extra += texts.CARD_RESOLVED.format(note=mask_text(ticket.resolution_note or ""))
    if ticket.status == Status.RETURNED:
        extra += texts.CARD_RETURNED.format(reason=mask_text(ticket.return_reason or ""))
    if ticket.reopen_reason and ticket.status != Status.CLOSED:
        extra += texts.CARD_REOPEN_REASON.format(reason=mask_text(ticket.reopen_reason))
    if ticket.status == Status.CLOSED:
        rating = (
            await session.execute(
                select(TicketRating.score)
                .where(TicketRating.ticket_id == ticket.id)
                .order_by(TicketRating.id.desc())
                .limit(1)
            )
        ).scalar_one_or_none()
        if rating:
            extra += texts.CARD_RATED.format(rating=texts.RATING_NAMES.get(rating, rating))
    if not fresh:
        shown = evidence.summary(await evidence.reporter_evidence(session, ticket.id))
        if shown:
            extra += texts.CARD_EVIDENCE.format(summary=shown)
        voices = len(await reporter_ids(session, ticket))
        if voices > 1:
            extra += texts.CARD_VOICES.format(count=voices)
    assists = [] if fresh else await routing.assisting_names(session, ticket.id)
    extra += _dispatch_lines(ticket, assists)
    if ticket.reporter_unreachable:
        extra += texts.CARD_UNREACHABLE
    if ticket.status == Status.CANCELLED and await _last_action(session, ticket) == "not_report":
        extra += texts.CARD_NOT_REPORT
    if ticket.confidential:
        extra += texts.CARD_CONFIDENTIAL
    flag = ""
    if ticket.urgency == Urgency.URGENT:
        flag += texts.CARD_URGENT_FLAG
    if ticket.resolution_round > 0 and ticket.status in OPEN_STATUSES:
        flag += texts.CARD_REOPEN_FLAG
    if ticket.overdue_at is not None and ticket.status in OPEN_STATUSES:
        flag += texts.CARD_OVERDUE_FLAG
    text = texts.CARD.format(
        flag=flag,
        number=ticket.number,
        status=texts.STATUS_NAMES[ticket.status],
        category=_category_text(ticket),
        urgent_line=(
            texts.CARD_URGENT_LINE.format(words=ticket.urgent_words or texts.URGENT_NO_WORDS)
            if ticket.urgency == Urgency.URGENT
            else ""
        ),
        reporter=texts.REPORTER_HIDDEN.format(
            name=mask_name(name), masked_id=mask_id(ticket.reporter_id)
        ),
        location_line=(
            texts.CARD_LOCATION_LINE.format(location=mask_text(ticket.location))
            if ticket.location
            else ""
        ),
        text=body,
        accept_by=format_time(ticket.accept_by),
        deadline=format_time(ticket.deadline_at),
        extra=extra,
    )
    return text, await _buttons(session, ticket, roles)


async def _last_action(session: AsyncSession, ticket: Ticket) -> str | None:
    return (
        await session.execute(
            select(TicketEvent.action)
            .where(TicketEvent.ticket_id == ticket.id)
            .order_by(TicketEvent.id.desc())
            .limit(1)
        )
    ).scalar_one_or_none()


def _dispatch_lines(ticket: Ticket, assists: list[str]) -> str:
    extra = ""
    if ticket.department_name:
        extra += texts.CARD_DEPARTMENT.format(name=ticket.department_name)
    elif ticket.status == Status.DISPATCHING:
        extra += texts.CARD_UNASSIGNED
    if assists:
        extra += texts.CARD_ASSISTS.format(names="、".join(assists))
    if ticket.extension_to is not None and ticket.status == Status.EXTENDING:
        extra += texts.CARD_EXTENSION.format(to=format_time(ticket.extension_to))
    base = ticket.base_deadline_at
    if base is not None and ticket.deadline_at > base and ticket.status in OPEN_STATUSES:
        extra += texts.CARD_EXTENDED.format(base=format_time(base))
    if ticket.overdue_at is not None and ticket.status in OPEN_STATUSES:
        extra += texts.CARD_OVERDUE.format(at=format_time(ticket.overdue_at))
    return extra


async def post_cards(
    session: AsyncSession,
    ticket: Ticket,
    *,
    tag: str,
    chats: list[Place] | None = None,
    fresh: bool = False,
) -> None:
    """Post the ticket's card as a new message (the card to edit later) to `chats`, by default
    the chats of whoever holds the ticket; a card already in a chat is retired first, so each
    chat has one live card per ticket. `fresh`: the ticket was opened in this transaction, so
    it has no card, evidence, co-reporter or assist to look up yet."""
    for chat_id in chats if chats is not None else await routing.holder_chats(session, ticket):
        text, buttons = await render_card(
            session, ticket, await chat_roles(session, ticket, chat_id), fresh=fresh
        )
        if not fresh and await session.get(StaffCard, (ticket.id, *chat_id)) is not None:
            # Sent before the new card (each chat's messages go out in order), this edits the
            # old card: it keeps what it said, loses its buttons and points to the new one.
            await enqueue(
                session,
                key=f"retire:{ticket.id}:{chat_id}:{tag}",
                chat_id=chat_id,
                intent=CardUpdate(text + texts.CARD_RETIRED),
                ticket_id=ticket.id,
            )
        await enqueue(
            session,
            key=f"card:{ticket.id}:{chat_id}:{tag}",
            chat_id=chat_id,
            intent=Card(text, buttons, title=ticket.number),
            ticket_id=ticket.id,
        )
        if not fresh:
            await evidence.show_evidence(session, ticket, [chat_id])


async def refresh_cards(session: AsyncSession, ticket: Ticket, event_id: int) -> None:
    """Edit the ticket's card in every chat it was posted to, to show its current state."""
    posted = await session.execute(
        select(OutboxMessage.chat_id, OutboxMessage.thread_id).where(
            OutboxMessage.ticket_id == ticket.id, OutboxMessage.kind == Kind.CARD.value
        )
    )
    chats = {Place(chat_id, thread_id) for chat_id, thread_id in posted.all()}
    cards = await session.execute(
        select(StaffCard.chat_id, StaffCard.thread_id).where(StaffCard.ticket_id == ticket.id)
    )
    chats.update(Place(chat_id, thread_id) for chat_id, thread_id in cards.all())
    for chat_id in sorted(chats):
        text, buttons = await render_card(
            session, ticket, await chat_roles(session, ticket, chat_id)
        )
        await enqueue(
            session,
            key=f"edit:{ticket.id}:{chat_id}:{event_id}",
            chat_id=chat_id,
            intent=CardUpdate(text, buttons, title=ticket.number),
            ticket_id=ticket.id,
        )


async def announce(
    session: AsyncSession, ticket: Ticket, chats: list[Place], *, key: str, text: str, tag: str
) -> None:
    """Tell `chats` why the ticket reached them, then post its live card there."""
    await tell_chats(session, ticket, chats, key, text)
    await post_cards(session, ticket, tag=tag, chats=chats)
