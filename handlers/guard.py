"""Updates no handler can serve as they are: a message without a sender (an anonymous admin,
a channel speaking in a group). A command gets a clear answer; anything else is left alone."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ApplicationHandlerStop, BaseHandler, TypeHandler

from bot import texts
from bot.services.notices.messages import answer_in_chat
from handlers.context import HuiyinContext


async def no_sender(update: Update, context: HuiyinContext) -> None:
    """Answer a command sent without a person behind it; stop every other handler."""
    message = update.message or update.edited_message
    if message is None or message.from_user is not None:
        return
    if (message.text or "").startswith("/") and update.message is not None:
        await answer_in_chat(
            context.services, message.chat.id, message.message_id, texts.ANONYMOUS_SENDER
        )
    raise ApplicationHandlerStop


# Runs before every other handler group.
HANDLERS: list[BaseHandler[Update, HuiyinContext, None]] = [TypeHandler(Update, no_sender)]
