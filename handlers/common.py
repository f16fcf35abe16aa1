"""Commands for everyone: /help in any chat, and group commands sent in a private chat."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, filters

from bot import texts
from bot.services.administration import guide
from bot.services.notices.messages import reply_now
from handlers.context import HuiyinContext, person, place


async def help_command(update: Update, context: HuiyinContext) -> None:
    """Explain what this person can do in this chat."""
    msg, chat, user = update.effective_message, update.effective_chat, update.effective_user
    assert msg is not None and chat is not None and user is not None
    if chat.type == chat.PRIVATE:
        await guide.private_help(context.services, person(user), msg.message_id)
        return
    await guide.group_help(context.services, person(user), place(update), msg.message_id)


async def group_command_in_private(update: Update, context: HuiyinContext) -> None:
    """Explain where a group command belongs when it is sent in a private chat."""
    msg, user = update.effective_message, update.effective_user
    assert msg is not None and user is not None and msg.text is not None
    name = msg.text.split()[0].lstrip("/").split("@", 1)[0].lower()
    text = texts.GROUP_COMMANDS_IN_PRIVATE.get(name, texts.GROUP_ONLY)
    await reply_now(context.services, person(user), msg.message_id, text)


HANDLERS: list[BaseHandler[Update, HuiyinContext, None]] = [
    CommandHandler("help", help_command),
    CommandHandler(
        list(texts.GROUP_COMMANDS_IN_PRIVATE),
        group_command_in_private,
        filters=filters.ChatType.PRIVATE,
    ),
]
