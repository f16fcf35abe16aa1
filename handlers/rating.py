"""The reporter's 回访 buttons, and the answer to buttons nobody recognises."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler

from bot import buttons, texts
from bot.domain import Refusal
from bot.services.context import ButtonAnswer, Person
from bot.services.rating import rating
from handlers.context import HuiyinContext, person

P = TypeVar("P")
Act = Callable[[P, Person, int, int], Awaitable[ButtonAnswer]]


async def rate(update: Update, context: HuiyinContext) -> None:
    """Handle 满意 / 基本满意 / 不满意, the last question of a 回访."""

    def act(
        press: buttons.RatingPress, who: Person, chat: int, msg: int
    ) -> Awaitable[ButtonAnswer]:
        return rating.rate(
            context.services, who, press.ticket_id, press.round, press.score,
            chat_id=chat, message_id=msg,
        )

    await _on_press(update, buttons.RatingPress, act)


async def follow_up(update: Update, context: HuiyinContext) -> None:
    """Handle 联系过 / 没有联系 and 已解决 / 部分解决 / 未解决 in a 回访."""

    def act(
        press: buttons.FollowupPress, who: Person, chat: int, msg: int
    ) -> Awaitable[ButtonAnswer]:
        return rating.answer(
            context.services, who, press.ticket_id, press.round, press.question, press.answer,
            chat_id=chat, message_id=msg,
        )

    await _on_press(update, buttons.FollowupPress, act)


async def _on_press(
    update: Update, kind: type[P], act: Act[P]
) -> None:
    """Decode a 回访 press of this kind, let the service act, and answer the button."""
    query = update.callback_query
    assert query is not None and query.data is not None
    press = buttons.decode(query.data)
    message = query.message
    if not isinstance(press, kind) or message is None:
        await query.answer(texts.ALERT_INVALID, show_alert=True)
        return
    try:
        answer = await act(press, person(query.from_user), message.chat.id, message.message_id)
    except Refusal as exc:
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
