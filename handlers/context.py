"""The typed callback context: handlers reach the services through it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from telegram import Update, User
from telegram.ext import Application, CallbackContext, ExtBot

from bot import buttons, texts
from bot.domain import Refusal
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


Handler = Callable[[Update, HuiyinContext], Coroutine[Any, Any, None]]
P = TypeVar("P")


class Answer(Protocol):
    """What a service answers a button press with."""

    @property
    def text(self) -> str:
        """The short answer shown to the presser."""
        ...

    @property
    def alert(self) -> bool:
        """Shown as an alert (it did not happen) rather than a toast."""
        ...


# A button's service: (services, presser, the chat or forum topic, the decoded press, the
# message the button is on)
Pressed = Callable[[Services, Person, Place, P, int | None], Awaitable[Answer]]


def on_press(kind: type[P], act: Pressed[P], doc: str) -> Handler:
    """A handler for buttons of one kind: decode the data, let the service act for the presser
    in this chat or topic (it checks who may), and answer the button with its result."""

    async def handle(update: Update, context: HuiyinContext) -> None:
        query = update.callback_query
        assert query is not None and query.data is not None
        press = buttons.decode(query.data)
        if not isinstance(press, kind) or update.effective_chat is None:
            await query.answer(texts.ALERT_INVALID, show_alert=True)
            return
        message = query.message
        try:
            answer = await act(
                context.services,
                person(query.from_user),
                place(update),
                press,
                message.message_id if message is not None else None,
            )
        except Refusal as exc:
            await query.answer(str(exc) or texts.ALERT_INVALID, show_alert=True)
            return
        await query.answer(answer.text, show_alert=answer.alert)

    handle.__doc__ = doc
    return handle


@dataclass(frozen=True, slots=True)
class Said:
    """A command as services take it: who, where (chat and forum topic), which message, and
    the words after the command."""

    person: Person
    place: Place
    message_id: int
    args: str


def on_command(act: Callable[[Services, Said], Awaitable[object]], doc: str) -> Handler:
    """A handler for a command: hand the service who said it, where, and its arguments."""

    async def handle(update: Update, context: HuiyinContext) -> None:
        msg, chat, user = update.effective_message, update.effective_chat, update.effective_user
        assert msg is not None and chat is not None and user is not None
        said = Said(person(user), place(update), msg.message_id, " ".join(context.args or []))
        await act(context.services, said)

    handle.__doc__ = doc
    return handle
