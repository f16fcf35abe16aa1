"""Who may see what in the web console, and sign-in by one-time links instead of passwords.

`/console` in a staff chat issues a link (a random token; only its SHA-256 is stored) that works
once, for a few minutes. Redeeming it starts a session (again only a hash is stored) that expires.
What a person sees is worked out from the database on every request (`scope_of`): admins and
members of the dispatch chat see everything, department staff their department and those below
it; someone removed from staff sees nothing from that moment on.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import texts
from bot.departments import Directory
from bot.intents import Notice
from bot.services.context import Services
from bot.services.handling.routing import DISPATCH, memberships
from bot.services.notices.messages import reply
from storage.models import ConsoleLink, ConsoleSession, ConsoleView, StaffMember
from storage.outbox import enqueue

LINK_TTL = timedelta(minutes=10)
SESSION_TTL = timedelta(hours=8)


@dataclass(frozen=True, slots=True)
class Scope:
    """What one person may see: everything, or these departments ("" is the dispatch chat)."""

    user_id: int
    everything: bool
    departments: frozenset[str]

    @property
    def empty(self) -> bool:
        """True for someone who may see nothing (not, or no longer, staff)."""
        return not self.everything and not self.departments

    def sees(self, department: str | None) -> bool:
        """Tell whether a ticket held by this department is visible."""
        return self.everything or (department or DISPATCH) in self.departments

    def limit(self) -> frozenset[str] | None:
        """The departments to filter on, or None for no filter."""
        return None if self.everything else self.departments


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def below(directory: Directory, code: str) -> set[str]:
    """A department and every department under it."""
    found = {code}
    changed = True
    while changed:
        changed = False
        for dept in directory.departments.values():
            if dept.parent in found and dept.code not in found:
                found.add(dept.code)
                changed = True
    return found


async def scope_of(services: Services, session: AsyncSession, user_id: int) -> Scope:
    """Work out from the database what this person may see right now."""
    if services.is_admin(user_id):
        return Scope(user_id, True, frozenset())
    if await session.get(StaffMember, user_id) is None:
        return Scope(user_id, False, frozenset())
    member_of = await memberships(session, user_id)
    if DISPATCH in member_of:
        return Scope(user_id, True, frozenset())
    visible: set[str] = set()
    for code in member_of:
        visible |= below(services.directory, code)
    return Scope(user_id, False, frozenset(visible))


async def issue_link(services: Services, session: AsyncSession, user_id: int) -> str | None:
    """Store a one-time sign-in token for this person and return it (None: not staff)."""
    if (await scope_of(services, session, user_id)).empty:
        return None
    now = services.clock()
    token = secrets.token_urlsafe(24)
    await session.execute(delete(ConsoleLink).where(ConsoleLink.expires_at < now))
    session.add(
        ConsoleLink(
            token_hash=_hash(token), user_id=user_id, expires_at=now + LINK_TTL, created_at=now
        )
    )
    return token


async def redeem_link(services: Services, token: str) -> str | None:
    """Use a sign-in link once: return a new session id, or None if it is unknown, used,
    expired, or its owner is no longer staff."""
    now = services.clock()
    async with services.sessions.begin() as session:
        link = await session.get(ConsoleLink, _hash(token), with_for_update=True)
        if link is None or link.used_at is not None or link.expires_at <= now:
            return None
        link.used_at = now
        if (await scope_of(services, session, link.user_id)).empty:
            return None
        session_id = secrets.token_urlsafe(32)
        session.add(
            ConsoleSession(
                id_hash=_hash(session_id),
                user_id=link.user_id,
                expires_at=now + SESSION_TTL,
                created_at=now,
            )
        )
    return session_id


async def session_scope(services: Services, session_id: str) -> Scope | None:
    """The scope of a live session, or None when it is unknown, expired or its owner lost
    access."""
    now = services.clock()
    async with services.sessions() as session:
        row = await session.get(ConsoleSession, _hash(session_id))
        if row is None or row.expires_at <= now:
            return None
        scope = await scope_of(services, session, row.user_id)
    return None if scope.empty else scope


async def end_session(services: Services, session_id: str) -> None:
    """Sign out: forget the session."""
    async with services.sessions.begin() as session:
        await session.execute(
            delete(ConsoleSession).where(ConsoleSession.id_hash == _hash(session_id))
        )


async def record_view(session: AsyncSession, user_id: int, ticket_id: int, now: datetime) -> None:
    """Audit that this person opened this ticket's details."""
    session.add(ConsoleView(user_id=user_id, ticket_id=ticket_id, created_at=now))


async def views_of(session: AsyncSession, ticket_id: int) -> list[tuple[int, datetime]]:
    """Who opened a ticket's details in the console, and when, oldest first."""
    rows = await session.execute(
        select(ConsoleView.user_id, ConsoleView.created_at)
        .where(ConsoleView.ticket_id == ticket_id)
        .order_by(ConsoleView.id)
    )
    return [(r[0], r[1]) for r in rows.all()]


async def send_link(services: Services, person_id: int, chat_id: int, message_id: int) -> None:
    """Answer /console: send a one-time sign-in link privately (and say so in a group)."""
    minutes = int(LINK_TTL.total_seconds() // 60)
    async with services.sessions.begin() as session:
        if not services.console_url:
            await reply(
                session, chat_id=chat_id, message_id=message_id, text=texts.CONSOLE_NOT_CONFIGURED
            )
        elif (token := await issue_link(services, session, person_id)) is None:
            await reply(
                session, chat_id=chat_id, message_id=message_id, text=texts.CONSOLE_NOT_STAFF
            )
        else:
            url = f"{services.console_url}/login/{token}"
            await enqueue(
                session,
                key=f"console_link:{chat_id}:{message_id}",
                chat_id=person_id,
                intent=Notice(texts.CONSOLE_LINK.format(minutes=minutes, url=url)),
            )
            if chat_id != person_id:
                await reply(
                    session, chat_id=chat_id, message_id=message_id, text=texts.CONSOLE_SENT
                )
    services.wake()
