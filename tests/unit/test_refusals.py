"""Which of Telegram's refusals end a chat for good, and which the sender keeps retrying."""

from __future__ import annotations

import pytest

from bot.services.supervision.unreachable import is_final


@pytest.mark.parametrize(
    "description",
    [
        "Forbidden: bot was blocked by the user",
        "Forbidden: user is deactivated",
        "Bad Request: chat not found",
    ],
)
def test_a_blocked_deactivated_or_missing_chat_is_final(description: str) -> None:
    assert is_final(description)


@pytest.mark.parametrize(
    "description",
    [
        "Forbidden: bot was kicked from the supergroup chat",
        "Forbidden: bot is not a member of the supergroup chat",
        "Bad Request: not enough rights to send text messages to the chat",
        "Forbidden: bot can't initiate conversation with a user",
    ],
)
def test_any_other_refusal_is_retried_until_the_chat_works(description: str) -> None:
    assert not is_final(description)
