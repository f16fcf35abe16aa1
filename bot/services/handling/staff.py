"""Staff in their chats: buttons and answers (carried out by `actions`), asking for a
reporter's contact, and telling a staff chat from others."""

from __future__ import annotations

from bot import texts
from bot.domain import PendingKind
from bot.services.context import ButtonAnswer, Person, Services, clean_text
from bot.services.handling import answers, contact, prompts
from bot.services.handling.actions import is_staff
from bot.services.handling.actions import press as press  # every card button goes through it
from bot.services.handling.routing import STAFF_CHAT
from bot.services.notices.messages import reply
from bot.services.tickets import find_by_number, load_ticket
from storage.chats import Place, binding_for


async def handle_staff_chat_text(
    services: Services,
    person: Person,
    chat_id: int,
    message_id: int,
    text: str,
    *,
    photo: str | None = None,
    reply_to: int | None = None,
) -> bool:
    """Take a staff member's reply to their prompt as the answer to it (other talk is not)."""
    now = services.clock()
    body = clean_text(text)[: services.max_text_length]
    async with services.sessions.begin() as session:
        if not await is_staff(session, person.id):
            return False
        taken = await answers.take_answer(
            services,
            session,
            person,
            chat_id,
            message_id,
            body,
            now,
            photo=photo,
            reply_to=reply_to,
        )
    if taken:
        services.wake()
    return taken


async def ask_contact(
    services: Services,
    person: Person,
    chat_id: int | Place,
    *,
    ticket_id: int | None = None,
    number: str | None = None,
    message_id: int | None = None,
) -> ButtonAnswer:
    """联系方式 (a card button, or /contact 编号): ask this member of staff why they need the
    reporter's contact; their reply to the prompt reveals it, on the record."""
    now = services.clock()
    async with services.sessions.begin() as session:
        ticket = None
        if ticket_id is not None:
            ticket = await load_ticket(session, ticket_id, lock=True)
        elif number is not None:
            ticket = await find_by_number(session, number)
        if not await is_staff(session, person.id):
            refused: str | None = texts.ALERT_NOT_STAFF
        elif ticket is None:
            refused = (
                texts.CONTACT_USAGE
                if number is None
                else texts.TICKET_NOT_VISIBLE.format(number=number)
            )
        else:
            refused = await contact.refusal(session, ticket, person.id, chat_id)
        if refused is not None:
            if message_id is not None:
                await reply(session, chat_id=chat_id, message_id=message_id, text=refused)
            answer = ButtonAnswer(refused, alert=True)
        else:
            assert ticket is not None
            await prompts.ask_staff(
                services,
                session,
                person=person,
                chat_id=chat_id,
                kind=PendingKind.REVEAL_REASON,
                ticket=ticket,
                question=texts.ASK_REVEAL_REASON.format(number=ticket.number),
                placeholder=texts.PROMPT_PLACEHOLDERS["reveal"],
                now=now,
            )
            answer = ButtonAnswer(texts.ALERT_ASKED.format(what="查看原因"))
    services.wake()
    return answer


async def is_staff_chat(services: Services, chat_id: int) -> bool:
    """Tell whether this chat is bound as a staff chat."""
    async with services.sessions() as session:
        bound = await binding_for(session, chat_id)
        return bound is not None and bound.kind == STAFF_CHAT
