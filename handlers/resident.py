"""Residents in a private chat: /start, /help, reports, evidence, /status, /my, /cancel."""

from __future__ import annotations

from telegram import Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot import buttons, texts
from bot.domain import AttachmentKind, parse_ticket_number
from bot.services.administration import personal_data
from bot.services.intake import confidential, private_prompts, reports
from bot.services.notices.messages import reply_now
from handlers.context import HuiyinContext, person

PRIVATE = filters.ChatType.PRIVATE


async def start(update: Update, context: HuiyinContext) -> None:
    """Greet, explain how to report, and follow a ticket named in a deep link."""
    msg = update.effective_message
    assert msg is not None and update.effective_user is not None
    who = person(update.effective_user)
    payload = context.args[0] if context.args else ""
    number = parse_ticket_number(payload[1:]) if payload.startswith("t") else None
    if number:
        await reports.follow(context.services, who, msg.message_id, number)
    else:
        await reply_now(context.services, who, msg.message_id, texts.GREETING)


async def unknown_command(update: Update, context: HuiyinContext) -> None:
    """Answer a command the bot does not know with the resident's guide."""
    msg = update.effective_message
    assert msg is not None and update.effective_user is not None
    await reply_now(context.services, person(update.effective_user), msg.message_id, texts.HELP)


async def status(update: Update, context: HuiyinContext) -> None:
    """Show one of the reporter's own tickets."""
    msg = update.effective_message
    assert msg is not None and update.effective_user is not None
    arg = context.args[0] if context.args else ""
    await reports.show_status(context.services, person(update.effective_user), msg.message_id, arg)


async def my_tickets(update: Update, context: HuiyinContext) -> None:
    """List the reporter's latest tickets."""
    msg = update.effective_message
    assert msg is not None and update.effective_user is not None
    await reports.list_mine(context.services, person(update.effective_user), msg.message_id)


async def cancel(update: Update, context: HuiyinContext) -> None:
    """Withdraw a ticket that has not been accepted yet."""
    msg = update.effective_message
    assert msg is not None and update.effective_user is not None
    arg = context.args[0] if context.args else ""
    await reports.cancel(context.services, person(update.effective_user), msg.message_id, arg)


async def my_data(update: Update, context: HuiyinContext) -> None:
    """Send residents everything the bot holds about them (/mydata)."""
    msg = update.effective_message
    assert msg is not None and update.effective_user is not None
    await personal_data.send_my_data(
        context.services, person(update.effective_user), msg.message_id
    )


async def forget(update: Update, context: HuiyinContext) -> None:
    """De-identify what is the resident's and no longer under handling (/forget)."""
    msg = update.effective_message
    assert msg is not None and update.effective_user is not None
    await personal_data.forget_me(context.services, person(update.effective_user), msg.message_id)


async def text(update: Update, context: HuiyinContext) -> None:
    """Take free text as a report (or as the answer to a question the bot asked)."""
    msg = update.effective_message
    assert msg is not None and update.effective_user is not None
    await reports.handle_private_text(
        context.services, person(update.effective_user), msg.message_id, msg.text or ""
    )


async def question_button(update: Update, context: HuiyinContext) -> None:
    """登记 / 不用了 under the bot's question "需要登记为诉求吗？"."""
    query = update.callback_query
    assert query is not None and query.data is not None
    press = buttons.decode(query.data)
    if not isinstance(press, buttons.QuestionAnswer):
        await query.answer(texts.ALERT_INVALID, show_alert=True)
        return
    answer = await private_prompts.answer(
        context.services, person(query.from_user), press.prompt_id, press.file
    )
    await query.answer(answer.text, show_alert=answer.alert)


async def confidential_button(update: Update, context: HuiyinContext) -> None:
    """保密处理 / 取消保密 under the acknowledgement of a private report."""
    query = update.callback_query
    assert query is not None
    press = buttons.decode(query.data)
    assert isinstance(press, buttons.ConfidentialPress)  # the handler's pattern decoded it
    who = person(query.from_user)
    message = query.message
    # Only the acknowledgement in the presser's own chat is rewritten.
    ack = message.message_id if message is not None and message.chat.id == who.id else None
    answer = await confidential.press(context.services, who, press.ticket_id, press.on, ack)
    await query.answer(answer.text, show_alert=answer.alert)


async def edited(update: Update, context: HuiyinContext) -> None:
    """An edited message: 补充 to its ticket, or a report when it now describes a problem."""
    msg = update.edited_message
    assert msg is not None and update.effective_user is not None
    edited_at = msg.edit_date or msg.date
    await reports.handle_private_edit(
        context.services,
        person(update.effective_user),
        msg.message_id,
        msg.text or msg.caption or "",
        int(edited_at.timestamp()),
    )


async def photo(update: Update, context: HuiyinContext) -> None:
    """Attach a photo to the reporter's latest ticket (its caption may be the report)."""
    msg = update.effective_message
    assert msg is not None and update.effective_user is not None and msg.photo
    await reports.attach(
        context.services,
        person(update.effective_user),
        msg.message_id,
        kind=AttachmentKind.PHOTO,
        file_id=msg.photo[-1].file_id,
        caption=msg.caption,
    )


async def location(update: Update, context: HuiyinContext) -> None:
    """Attach a location to the reporter's latest ticket."""
    msg = update.effective_message
    assert msg is not None and update.effective_user is not None and msg.location
    await reports.attach(
        context.services,
        person(update.effective_user),
        msg.message_id,
        kind=AttachmentKind.LOCATION,
        latitude=msg.location.latitude,
        longitude=msg.location.longitude,
    )


async def other(update: Update, context: HuiyinContext) -> None:
    """Answer anything else in a private chat (stickers, voice, files) with the how-to."""
    msg = update.effective_message
    assert msg is not None and update.effective_user is not None
    await reply_now(
        context.services, person(update.effective_user), msg.message_id, texts.HOW_TO_REPORT
    )


HANDLERS: list[BaseHandler[Update, HuiyinContext, None]] = [
    CommandHandler("start", start, filters=PRIVATE),
    CommandHandler("status", status, filters=PRIVATE),
    CommandHandler("my", my_tickets, filters=PRIVATE),
    CommandHandler("cancel", cancel, filters=PRIVATE),
    CommandHandler("mydata", my_data, filters=PRIVATE),
    CommandHandler("forget", forget, filters=PRIVATE),
    MessageHandler(
        PRIVATE & filters.UpdateType.EDITED_MESSAGE & (filters.TEXT | filters.CAPTION), edited
    ),
    MessageHandler(PRIVATE & filters.TEXT & ~filters.COMMAND, text),
    CallbackQueryHandler(question_button, pattern=buttons.is_question_answer),
    CallbackQueryHandler(confidential_button, pattern=buttons.is_confidential_press),
    MessageHandler(PRIVATE & filters.PHOTO, photo),
    MessageHandler(PRIVATE & filters.LOCATION, location),
    MessageHandler(PRIVATE & ~filters.COMMAND & ~filters.StatusUpdate.ALL, other),
    MessageHandler(PRIVATE & filters.COMMAND, unknown_command),
]
