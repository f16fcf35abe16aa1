"""Staff in their group chat: bind it, register staff, and handle ticket cards."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from bot import buttons, texts
from bot.domain import Refusal, parse_ticket_number
from bot.services.administration import staff as staff_admin
from bot.services.handling import corrections, queues, staff
from bot.services.statistics import access, report
from handlers.context import HuiyinContext, on_replied_author, person, place

GROUPS = filters.ChatType.GROUPS


async def bind_staff(update: Update, context: HuiyinContext) -> None:
    """Bind this group: /bind_staff 部门名称, or /bind_staff alone for the dispatch chat."""
    msg, chat, user = update.effective_message, update.effective_chat, update.effective_user
    assert msg is not None and chat is not None and user is not None
    await staff_admin.bind_staff_chat(
        context.services,
        person(user),
        chat.id,
        chat.title or "",
        msg.message_id,
        " ".join(context.args or []),
        thread_id=msg.message_thread_id if msg.is_topic_message else None,
    )


add_staff = on_replied_author(
    staff_admin.add_staff, "Register the author of the replied-to message as staff (admins only)."
)


async def card_button(update: Update, context: HuiyinContext) -> None:
    """Handle 受理 / 办结 / 退回 on a ticket card."""
    query = update.callback_query
    assert query is not None and query.data is not None
    chat = update.effective_chat
    press = buttons.decode(query.data)
    if not isinstance(press, buttons.CardPress) or chat is None:
        await query.answer(texts.ALERT_INVALID, show_alert=True)
        return
    try:
        answer = await staff.press(
            context.services, person(query.from_user), place(update), press.action, press.ticket_id
        )
    except Refusal as exc:
        await query.answer(str(exc) or texts.ALERT_INVALID, show_alert=True)
        return
    await query.answer(answer.text, show_alert=answer.alert)


async def category_button(update: Update, context: HuiyinContext) -> None:
    """Handle a tap on one of the categories offered to correct a ticket's category."""
    query = update.callback_query
    assert query is not None and query.data is not None
    chat = update.effective_chat
    press = buttons.decode(query.data)
    if not isinstance(press, buttons.CategoryPick) or chat is None:
        await query.answer(texts.ALERT_INVALID, show_alert=True)
        return
    message = query.message
    try:
        outcome = await corrections.choose(
            context.services,
            person(query.from_user),
            chat.id,
            message.message_id if message is not None else None,
            press.ticket_id,
            press.index,
        )
    except Refusal as exc:
        await query.answer(str(exc) or texts.ALERT_INVALID, show_alert=True)
        return
    await query.answer(outcome.text, show_alert=not outcome.done)


async def contact_button(update: Update, context: HuiyinContext) -> None:
    """Handle 联系方式 on a ticket card: ask why, then show who reported it."""
    query = update.callback_query
    assert query is not None and query.data is not None
    chat = update.effective_chat
    press = buttons.decode(query.data)
    if not isinstance(press, buttons.ContactPress) or chat is None:
        await query.answer(texts.ALERT_INVALID, show_alert=True)
        return
    try:
        answer = await staff.ask_contact(
            context.services, person(query.from_user), place(update), ticket_id=press.ticket_id
        )
    except Refusal as exc:
        await query.answer(str(exc) or texts.ALERT_INVALID, show_alert=True)
        return
    await query.answer(answer.text, show_alert=answer.alert)


async def contact(update: Update, context: HuiyinContext) -> None:
    """Ask to see who reported a ticket (/contact 编号), with a reason put on the record."""
    msg, chat, user = update.effective_message, update.effective_chat, update.effective_user
    assert msg is not None and chat is not None and user is not None
    number = parse_ticket_number(" ".join(context.args or []))
    await staff.ask_contact(
        context.services, person(user), place(update), number=number, message_id=msg.message_id
    )


async def queue(update: Update, context: HuiyinContext) -> None:
    """List this chat's department's open tickets by deadline (/queue)."""
    msg, chat, user = update.effective_message, update.effective_chat, update.effective_user
    assert msg is not None and chat is not None and user is not None
    await queues.show_queue(context.services, person(user), place(update), msg.message_id)


async def overdue(update: Update, context: HuiyinContext) -> None:
    """List this chat's department's overdue tickets (/overdue)."""
    msg, chat, user = update.effective_message, update.effective_chat, update.effective_user
    assert msg is not None and chat is not None and user is not None
    await queues.show_queue(
        context.services, person(user), place(update), msg.message_id, overdue=True
    )


async def ticket(update: Update, context: HuiyinContext) -> None:
    """Show one ticket's card and full timeline (/ticket 编号)."""
    msg, chat, user = update.effective_message, update.effective_chat, update.effective_user
    assert msg is not None and chat is not None and user is not None
    await queues.show_ticket(
        context.services, person(user), place(update), msg.message_id, " ".join(context.args or [])
    )


async def console(update: Update, context: HuiyinContext) -> None:
    """Send a one-time sign-in link to the web console privately (/console)."""
    msg, chat, user = update.effective_message, update.effective_chat, update.effective_user
    assert msg is not None and chat is not None and user is not None
    await access.send_link(context.services, user.id, chat.id, msg.message_id)


async def stats(update: Update, context: HuiyinContext) -> None:
    """Answer with this chat's department's figures for the current cycle (/stats)."""
    msg, chat, user = update.effective_message, update.effective_chat, update.effective_user
    assert msg is not None and chat is not None and user is not None
    await report.answer_stats(context.services, person(user), place(update), msg.message_id)


HANDLERS: list[BaseHandler[Update, HuiyinContext, None]] = [
    CommandHandler("bind_staff", bind_staff, filters=GROUPS),
    CommandHandler("add_staff", add_staff, filters=GROUPS),
    CommandHandler("queue", queue, filters=GROUPS),
    CommandHandler("overdue", overdue, filters=GROUPS),
    CommandHandler("ticket", ticket, filters=GROUPS),
    CommandHandler("console", console, filters=GROUPS),
    CommandHandler("stats", stats, filters=GROUPS),
    CallbackQueryHandler(card_button, pattern=buttons.is_card_press),
    CallbackQueryHandler(category_button, pattern=buttons.is_category_pick),
    CommandHandler("contact", contact, filters=GROUPS),
    CallbackQueryHandler(contact_button, pattern=buttons.is_contact_press),
]
