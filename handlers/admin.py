"""Admins managing people and bindings in a group: remove, unblock, admins, /unbind, /people."""

from __future__ import annotations

from functools import partial

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, filters

from bot.services.administration import people
from handlers.context import HuiyinContext, on_replied_author, person, place

GROUPS = filters.ChatType.GROUPS
BY_REPLY = ("remove_staff", "remove_worker", "unblock", "add_admin", "remove_admin")


async def unbind(update: Update, context: HuiyinContext) -> None:
    """End this group's binding as a staff or grid chat (admins only)."""
    msg, chat, user = update.effective_message, update.effective_chat, update.effective_user
    assert msg is not None and chat is not None and user is not None
    await people.unbind(context.services, person(user), place(update), msg.message_id)


async def show_people(update: Update, context: HuiyinContext) -> None:
    """List this chat's staff or grid workers (and, for admins, the admins and blocks)."""
    msg, chat, user = update.effective_message, update.effective_chat, update.effective_user
    assert msg is not None and chat is not None and user is not None
    await people.show_people(context.services, person(user), place(update), msg.message_id)


HANDLERS: list[BaseHandler[Update, HuiyinContext, None]] = [
    *(
        CommandHandler(
            name,
            on_replied_author(
                partial(people.remove_by_reply, what=name),
                f"/{name} as a reply to someone's message (admins only).",
            ),
            filters=GROUPS,
        )
        for name in BY_REPLY
    ),
    CommandHandler("unbind", unbind, filters=GROUPS),
    CommandHandler("people", show_people, filters=GROUPS),
]
