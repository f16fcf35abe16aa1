"""The bot's command menus and profile texts, set at start-up only where they differ."""

from __future__ import annotations

import logging

from telegram import (
    Bot,
    BotCommand,
    BotCommandScope,
    BotCommandScopeAllChatAdministrators,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeDefault,
)
from telegram.error import TelegramError

from bot import texts

log = logging.getLogger("huiyin.menus")


def _commands(pairs: tuple[tuple[str, str], ...]) -> list[BotCommand]:
    return [BotCommand(name, description) for name, description in pairs]


def menus() -> list[tuple[BotCommandScope, list[BotCommand]]]:
    """Each audience's menu: residents in private, group members, group administrators."""
    private = _commands(texts.MENU_PRIVATE)
    members = _commands(texts.MENU_GROUP)
    admins = _commands(texts.MENU_GROUP + texts.MENU_ADMIN)
    return [
        (BotCommandScopeDefault(), private),
        (BotCommandScopeAllPrivateChats(), private),
        (BotCommandScopeAllGroupChats(), members),
        (BotCommandScopeAllChatAdministrators(), admins),
    ]


async def publish_menus(bot: Bot) -> int:
    """Set menus and descriptions where Telegram holds something else; return calls made.

    A failure is logged and start-up goes on: the bot works without menus.
    """
    changed = 0
    try:
        for scope, commands in menus():
            current = await bot.get_my_commands(scope=scope)
            if [(c.command, c.description) for c in current] != [
                (c.command, c.description) for c in commands
            ]:
                await bot.set_my_commands(commands, scope=scope)
                changed += 1
        if (await bot.get_my_description()).description != texts.BOT_DESCRIPTION:
            await bot.set_my_description(texts.BOT_DESCRIPTION)
            changed += 1
        short = await bot.get_my_short_description()
        if short.short_description != texts.BOT_SHORT_DESCRIPTION:
            await bot.set_my_short_description(texts.BOT_SHORT_DESCRIPTION)
            changed += 1
    except TelegramError as exc:
        log.warning("could not set the command menus: %s", exc)
    return changed
