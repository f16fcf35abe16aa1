"""One staff action in progress (who, on which ticket, with what note), and what came of it."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain import Action, Role
from bot.services import gate
from bot.services.context import Person, Services
from storage.models import Ticket, TicketEvent


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a staff action tells the person who took it, and whether it happened."""

    text: str
    done: bool = True

    @property
    def alert(self) -> bool:
        """Shown as an alert: the action did not happen."""
        return not self.done


@dataclass(frozen=True, slots=True)
class Work:
    """A staff action being carried out: by whom, in which role, on which ticket, with what
    they wrote (the note, a photo of the result) and where."""

    services: Services
    session: AsyncSession
    person: Person
    ticket: Ticket
    role: Role
    now: datetime
    note: str = ""
    photo: str | None = None
    chat_id: int = 0
    message_id: int | None = None

    def acting_as(self, role: Role) -> Work:
        """The same work, in the role the transition table allowed."""
        return replace(self, role=role)

    async def move(
        self, action: Action, note: str | None, *, until: datetime | None = None
    ) -> TicketEvent:
        """Take `action` through the gate as this person and role; return the audit row."""
        step = await gate.move(
            self.session,
            self.ticket,
            action,
            roles=self.role,
            actor_id=self.person.id,
            note=note,
            at=self.now,
            timetable=self.services,
            until=until,
        )
        return step.event
