"""The typed callback context: handlers reach the services through it."""

from __future__ import annotations

from typing import Any

from telegram import User
from telegram.ext import Application, CallbackContext, ExtBot

from bot.services.context import Person, Services


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


def person(user: User) -> Person:
    """Turn a Telegram user into the plain value services take."""
    return Person(id=user.id, first_name=user.full_name, username=user.username)
