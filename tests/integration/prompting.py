"""Answer a staff prompt in service tests, as Telegram delivers it: a reply to the prompt."""

from __future__ import annotations

from sqlalchemy import select

from bot.services.context import Person, Services
from bot.services.handling import staff
from storage.models import OutboxMessage, PendingInput


async def reply_to_prompt(
    services: Services, person: Person, chat_id: int, message_id: int, text: str
) -> bool:
    """Reply `text` to the person's pending prompt in the chat (marked sent if no sender ran)."""
    async with services.sessions.begin() as session:
        pending = (
            await session.execute(
                select(PendingInput).where(
                    PendingInput.user_id == person.id, PendingInput.chat_id == chat_id
                )
            )
        ).scalar_one()
        prompt = (
            await session.execute(
                select(OutboxMessage).where(OutboxMessage.idempotency_key == pending.prompt_key)
            )
        ).scalar_one()
        if prompt.message_id is None:
            prompt.message_id = 900_000 + prompt.id
        prompt_id = prompt.message_id
    return await staff.handle_staff_chat_text(
        services, person, chat_id, message_id, text, reply_to=prompt_id
    )
