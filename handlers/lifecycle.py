"""The bot's membership of groups: added, removed, and a group upgraded to a supergroup."""

from __future__ import annotations

from telegram import ChatMember, ChatMemberUpdated, Update
from telegram.ext import BaseHandler, ChatMemberHandler, MessageHandler, filters

from bot.services.administration import chats
from handlers.context import HuiyinContext

PRESENT = {ChatMember.MEMBER, ChatMember.ADMINISTRATOR, ChatMember.RESTRICTED, ChatMember.OWNER}


def _present(member: ChatMember) -> bool:
    if member.status == ChatMember.RESTRICTED:
        return bool(getattr(member, "is_member", False))
    return member.status in PRESENT


async def membership(update: Update, context: HuiyinContext) -> None:
    """The bot was added to or removed from a group."""
    change: ChatMemberUpdated | None = update.my_chat_member
    assert change is not None
    chat = change.chat
    if chat.type not in (chat.GROUP, chat.SUPERGROUP):
        return
    was, now = _present(change.old_chat_member), _present(change.new_chat_member)
    if now and not was:
        admin = change.new_chat_member.status == ChatMember.ADMINISTRATOR
        can_read = bool(context.bot.can_read_all_group_messages) or admin
        await chats.bot_added(
            context.services, chat.id, can_read_posts=can_read, update_id=update.update_id
        )
    elif was and not now:
        await chats.bot_removed(context.services, chat.id, chat.title or "", update.update_id)


async def migrated(update: Update, context: HuiyinContext) -> None:
    """A group became a supergroup: everything stored about it moves to the new id."""
    msg = update.effective_message
    assert msg is not None
    if msg.migrate_to_chat_id is not None:
        await chats.chat_migrated(context.services, msg.chat.id, msg.migrate_to_chat_id)
    elif msg.migrate_from_chat_id is not None:
        await chats.chat_migrated(context.services, msg.migrate_from_chat_id, msg.chat.id)


HANDLERS: list[BaseHandler[Update, HuiyinContext, None]] = [
    ChatMemberHandler(membership, ChatMemberHandler.MY_CHAT_MEMBER),
    MessageHandler(filters.StatusUpdate.MIGRATE, migrated),
]
