"""The reporter's 回访 buttons, and the answer to buttons nobody recognises."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler

from bot import buttons, texts
from bot.domain import HuiyinError
from bot.services.rating import rating
from handlers.context import HuiyinContext, person


async def rate(update: Update, context: HuiyinContext) -> None:
    """Handle 满意 / 基本满意 / 不满意, the last question of a 回访."""
    query = update.callback_query
    assert query is not None and query.data is not None
    press = buttons.decode(query.data)
    message = query.message
    if not isinstance(press, buttons.RatingPress) or message is None:
        await query.answer(texts.ALERT_INVALID, show_alert=True)
        return
    try:
        answer = await rating.rate(
            context.services,
            person(query.from_user),
            press.ticket_id,
            press.round,
            press.score,
            chat_id=message.chat.id,
            message_id=message.message_id,
        )
    except HuiyinError as exc:
        await query.answer(str(exc) or texts.ALERT_INVALID, show_alert=True)
        return
    await query.answer(answer.text, show_alert=answer.alert)


async def follow_up(update: Update, context: HuiyinContext) -> None:
    """Handle 联系过 / 没有联系 and 已解决 / 部分解决 / 未解决 in a 回访."""
    query = update.callback_query
    assert query is not None and query.data is not None
    press = buttons.decode(query.data)
    message = query.message
    if not isinstance(press, buttons.FollowupPress) or message is None:
        await query.answer(texts.ALERT_INVALID, show_alert=True)
        return
    try:
        answer = await rating.answer(
            context.services,
            person(query.from_user),
            press.ticket_id,
            press.round,
            press.question,
            press.answer,
            chat_id=message.chat.id,
            message_id=message.message_id,
        )
    except HuiyinError as exc:
        await query.answer(str(exc) or texts.ALERT_INVALID, show_alert=True)
        return
    await query.answer(answer.text, show_alert=answer.alert)


async def unknown_button(update: Update, context: HuiyinContext) -> None:
    """Answer forged or outdated callback data with an alert; change nothing."""
    query = update.callback_query
    assert query is not None
    await query.answer(texts.ALERT_INVALID, show_alert=True)


HANDLERS: list[BaseHandler[Update, HuiyinContext, None]] = [
    CallbackQueryHandler(rate, pattern=buttons.is_rating_press),
    CallbackQueryHandler(follow_up, pattern=buttons.is_followup_press),
    CallbackQueryHandler(unknown_button),
]
