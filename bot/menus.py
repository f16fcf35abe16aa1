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
    BotCommandScopeChat,
    BotCommandScopeChatAdministrators,
    BotCommandScopeDefault,
)
from telegram.error import TelegramError

from bot import texts
from bot.domain import ChatKind

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


def chat_menus(chat_id: int, kind: ChatKind) -> list[tuple[BotCommandScope, list[BotCommand]]]:
    """A bound chat's own menus: its members' (a staff chat's or a grid group's commands) and
    its administrators' (those plus the admin commands; a chat scope outranks the
    all-administrators one, so they need their own)."""
    own = texts.MENU_STAFF_CHAT if kind == ChatKind.STAFF else texts.MENU_GRID_CHAT
    return [
        (BotCommandScopeChat(chat_id), _commands(own)),
        (BotCommandScopeChatAdministrators(chat_id), _commands(own + texts.MENU_ADMIN)),
    ]


async def _set(bot: Bot, scope: BotCommandScope, commands: list[BotCommand]) -> int:
    """Set one scope's menu unless Telegram holds it already; return calls that changed it."""
    current = await bot.get_my_commands(scope=scope)
    if [(c.command, c.description) for c in current] == [
        (c.command, c.description) for c in commands
    ]:
        return 0
    await bot.set_my_commands(commands, scope=scope)
    return 1


async def publish_chat_menus(bot: Bot, chats: dict[int, ChatKind | None]) -> int:
    """Give each bound chat its own menu, and take it off a chat no longer bound (kind None);
    only where Telegram holds something else. Return the calls that changed a menu.

    A failure is logged and the bot goes on (a chat it has left refuses, for one).
    """
    changed = 0
    for chat_id, kind in chats.items():
        try:
            if kind is None:
                for own in (
                    BotCommandScopeChat(chat_id),
                    BotCommandScopeChatAdministrators(chat_id),
                ):
                    if await bot.get_my_commands(scope=own):
                        await bot.delete_my_commands(scope=own)
                        changed += 1
                continue
            for scope, commands in chat_menus(chat_id, kind):
                changed += await _set(bot, scope, commands)
        except TelegramError as exc:
            log.warning("could not set the menu of chat %s: %s", chat_id, exc)
    return changed


async def publish_menus(bot: Bot) -> int:
    """Set menus and descriptions where Telegram holds something else; return calls made.

    A failure is logged and start-up goes on: the bot works without menus.
    """
    changed = 0
    try:
        for scope, commands in menus():
            changed += await _set(bot, scope, commands)
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
