"""The typed callback context: handlers reach the services through it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from telegram import Update, User
from telegram.ext import Application, CallbackContext, ExtBot

from bot.services.context import Person, Services, clean_text
from storage.chats import Place


class HuiyinContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """Callback context with typed access to the services."""

    def __init__(
        self,
        application: Application[Any, Any, Any, Any, Any, Any],
        chat_id: int | None = None,
        user_id: int | None = None,
    ) -> None:
        super().__init__(application=application, chat_id=chat_id, user_id=user_id)

    @property
    def services(self) -> Services:
        """Return the services the composition root stored in bot_data."""
        services = self.bot_data["services"]
        assert isinstance(services, Services)
        return services


def place(update: Update) -> Place:
    """Where an update happened: its chat, and the forum topic when it was in one."""
    chat, msg = update.effective_chat, update.effective_message
    assert chat is not None
    topic = getattr(msg, "is_topic_message", False) and getattr(msg, "message_thread_id", None)
    return Place(chat.id, topic or 0)


def person(user: User) -> Person:
    """Turn a Telegram user into the plain value services take (names cleaned of NUL, lone
    surrogates and other characters a database refuses)."""
    return Person(
        id=user.id,
        first_name=clean_text(user.full_name),
        username=clean_text(user.username) or None if user.username else None,
    )


# An admin command given as a reply: (services, admin, the replied post's author, the chat or
# forum topic, message)
ReplyCommand = Callable[[Services, Person, Person | None, Place, int], Awaitable[object]]


def on_replied_author(
    command: ReplyCommand, doc: str
) -> Callable[[Update, HuiyinContext], Coroutine[Any, Any, None]]:
    """A handler passing the author of the replied-to message (None for none, or a bot)."""

    async def handle(update: Update, context: HuiyinContext) -> None:
        msg, chat, user = update.effective_message, update.effective_chat, update.effective_user
        assert msg is not None and chat is not None and user is not None
        target = msg.reply_to_message.from_user if msg.reply_to_message else None
        await command(
            context.services,
            person(user),
            person(target) if target is not None and not target.is_bot else None,
            place(update),
            msg.message_id,
        )

    handle.__doc__ = doc
    return handle
