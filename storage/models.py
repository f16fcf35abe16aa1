"""SQLAlchemy models: tickets, their events and ratings, people, bound chats, and the outbox."""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    event,
    false,
    text,
)
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from bot.domain import (
    Appeal,
    AttachmentKind,
    ChatKind,
    DueKind,
    EventKind,
    PendingKind,
    PromptStatus,
    Rating,
    Role,
    Status,
    Urgency,
)
from bot.intents import Kind

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
RowId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC without a zone (SQLite has none) and always returns aware UTC datetimes."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Convert an aware datetime to naive UTC for storage."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Return stored naive UTC as aware UTC."""
        return None if value is None else value.replace(tzinfo=UTC)


E = TypeVar("E", bound=enum.StrEnum)


class EnumText(TypeDecorator[E], Generic[E]):
    """A domain enum stored as its value in a plain string column (no database enum type, so
    adding a member needs no migration); reads come back as members, unknown values raise."""

    impl = String
    cache_ok = True

    def __init__(self, kind: type[E], length: int) -> None:
        super().__init__(length)
        self.kind = kind

    def process_bind_param(self, value: E | str | None, dialect: Dialect) -> str | None:
        """Store the member's value (a plain string is checked against the enum first)."""
        return None if value is None else self.kind(value).value

    def process_result_value(self, value: str | None, dialect: Dialect) -> E | None:
        """Return the stored value as a member."""
        return None if value is None else self.kind(value)


class InboxStatus(enum.StrEnum):
    """What became of an update stored in the inbox."""

    PENDING = "pending"  # to handle (a worker holds it while `locked_until` is ahead)
    DONE = "done"  # handled: marked in the transaction that committed its effects
    DEAD = "dead"  # failed for good; `last_error` says why


class UpdateKind(enum.StrEnum):
    """The kind of a Telegram update: the one field it has besides `update_id` (the Bot API's
    update types, the ones the bot subscribes to; anything else is UNKNOWN)."""

    UNKNOWN = ""
    MESSAGE = "message"
    EDITED_MESSAGE = "edited_message"
    CHANNEL_POST = "channel_post"
    EDITED_CHANNEL_POST = "edited_channel_post"
    BUSINESS_CONNECTION = "business_connection"
    BUSINESS_MESSAGE = "business_message"
    EDITED_BUSINESS_MESSAGE = "edited_business_message"
    DELETED_BUSINESS_MESSAGES = "deleted_business_messages"
    MESSAGE_REACTION = "message_reaction"
    MESSAGE_REACTION_COUNT = "message_reaction_count"
    INLINE_QUERY = "inline_query"
    CHOSEN_INLINE_RESULT = "chosen_inline_result"
    CALLBACK_QUERY = "callback_query"
    SHIPPING_QUERY = "shipping_query"
    PRE_CHECKOUT_QUERY = "pre_checkout_query"
    PURCHASED_PAID_MEDIA = "purchased_paid_media"
    POLL = "poll"
    POLL_ANSWER = "poll_answer"
    MY_CHAT_MEMBER = "my_chat_member"
    CHAT_MEMBER = "chat_member"
    CHAT_JOIN_REQUEST = "chat_join_request"
    CHAT_BOOST = "chat_boost"
    REMOVED_CHAT_BOOST = "removed_chat_boost"
    MANAGED_BOT = "managed_bot"
    GUEST_MESSAGE = "guest_message"

    @classmethod
    def _missing_(cls, value: object) -> UpdateKind:
        return cls.UNKNOWN


class OutboxStatus(enum.StrEnum):
    """Where an outbox row stands."""

    PENDING = "pending"  # waiting to be sent (or retried)
    SENT = "sent"
    FAILED = "failed"  # given up: refused by Telegram, or too many network failures
    UNDELIVERABLE = "undeliverable"  # the chat cannot be reached (blocked, gone)


def utcnow() -> datetime:
    """Return the current time, aware, in UTC."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """Declarative base with stable constraint names for migrations."""

    metadata = MetaData(naming_convention=NAMING)


class User(Base):
    """A Telegram user the bot has heard from."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    first_name: Mapped[str] = mapped_column(String(128), default="")
    username: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    blocked_bot_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StaffMember(Base):
    """A registered member of staff who may handle tickets."""

    __tablename__ = "staff"

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    display_name: Mapped[str] = mapped_column(String(128), default="")
    added_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class BoundChat(Base):
    """A group chat (or one forum topic of it) bound to a role: a department's staff chat, or
    a grid group with its grid's name. One forum group may hold several departments, each
    in its own topic."""

    __tablename__ = "bound_chats"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    # The forum topic the binding was made in (the bot posts there); 0: the chat itself.
    thread_id: Mapped[int] = mapped_column(
        BigInteger, primary_key=True, autoincrement=False, default=0, server_default="0"
    )
    kind: Mapped[ChatKind] = mapped_column(EnumText(ChatKind, 16), index=True)
    title: Mapped[str] = mapped_column(String(255), default="")
    name: Mapped[str] = mapped_column(String(64), default="")
    bound_by: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class GridWorker(Base):
    """A grid worker (网格员) registered for one grid group."""

    __tablename__ = "grid_workers"

    grid_chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    display_name: Mapped[str] = mapped_column(String(128), default="")
    added_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Admin(Base):
    """Someone who administers the bot (binds chats, registers people); seeded from
    HUIYIN_ADMIN_IDS at start, managed with `huiyin admin` and /add_admin."""

    __tablename__ = "admins"

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    added_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class BlockedUser(Base):
    """A user an admin has blocked from filing reports."""

    __tablename__ = "blocked_users"

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    blocked_by: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DayCounter(Base):
    """The last ticket sequence used on a filing day."""

    __tablename__ = "day_counters"

    day: Mapped[str] = mapped_column(String(8), primary_key=True)
    last_seq: Mapped[int] = mapped_column(Integer, default=0)


class Ticket(Base):
    """One report and everything decided about it."""

    __tablename__ = "tickets"
    __table_args__ = (
        UniqueConstraint("source_chat_id", "source_message_id", name="uq_tickets_source"),
        Index("ix_tickets_reporter_created", "reporter_id", "created_at"),
        Index("ix_tickets_status_deadline", "status", "deadline_at"),
        Index("ix_tickets_department_deadline", "department", "deadline_at"),
        Index("ix_tickets_next_due", "next_due_at"),
        Index("ix_tickets_created", "created_at"),  # the console's figures, by period
    )

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(String(16), unique=True)
    reporter_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id"))
    source_chat_id: Mapped[int] = mapped_column(BigInteger)
    source_message_id: Mapped[int] = mapped_column(BigInteger)
    text: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(128))
    intent: Mapped[Appeal] = mapped_column(EnumText(Appeal, 8))
    urgency: Mapped[Urgency] = mapped_column(EnumText(Urgency, 8))
    urgent_words: Mapped[str] = mapped_column(String(255), default="")
    location: Mapped[str | None] = mapped_column(String(255))
    # The extractor's top 3 category paths at filing, one per line: the one-tap corrections.
    category_choices: Mapped[str | None] = mapped_column(Text)
    confidence: Mapped[float] = mapped_column(Float, default=0.0)
    status: Mapped[Status] = mapped_column(EnumText(Status, 16))
    accept_by: Mapped[datetime] = mapped_column(UTCDateTime)
    deadline_at: Mapped[datetime] = mapped_column(UTCDateTime)
    resolution_round: Mapped[int] = mapped_column(Integer, default=0)
    resolution_note: Mapped[str | None] = mapped_column(Text)
    return_reason: Mapped[str | None] = mapped_column(Text)
    reopen_reason: Mapped[str | None] = mapped_column(Text)
    reporter_unreachable: Mapped[bool] = mapped_column(Boolean, default=False)
    grid_chat_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    worker_id: Mapped[int | None] = mapped_column(BigInteger)
    reporter_name: Mapped[str | None] = mapped_column(String(128))
    # 保密: the reporter asked that only the dispatch chat (总平台) may reveal who they are.
    confidential: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Dispatch: the department holding the ticket (None: the dispatch chat, 总平台).
    department: Mapped[str | None] = mapped_column(String(48))
    department_name: Mapped[str | None] = mapped_column(String(128))
    escalations: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    extension_to: Mapped[datetime | None] = mapped_column(UTCDateTime)
    base_deadline_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Supervision, driven by the sweeper: 催办 at remind_at, 督办 at deadline_at (overdue_at is
    # set then), 提级 at escalate_at; rating reminder and auto-close after a resolution.
    remind_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    escalate_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    overdue_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    supervision: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    due_kind: Mapped[DueKind | None] = mapped_column(EnumText(DueKind, 16))
    next_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DepartmentMember(Base):
    """A member of staff of one department; department "" is the dispatch chat (总平台)."""

    __tablename__ = "department_members"

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    department: Mapped[str] = mapped_column(String(48), primary_key=True)
    added_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TicketAssist(Base):
    """A department cooperating on a ticket (协办) while the lead department keeps it."""

    __tablename__ = "ticket_assists"

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), primary_key=True)
    department: Mapped[str] = mapped_column(String(48), primary_key=True)
    name: Mapped[str] = mapped_column(String(128), default="")
    added_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TicketReporter(Base):
    """Another resident who reported the same problem; they hear every step and may rate."""

    __tablename__ = "ticket_reporters"
    __table_args__ = (
        UniqueConstraint("source_chat_id", "source_message_id", name="uq_ticket_reporters_source"),
    )

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    user_id: Mapped[int] = mapped_column(BigInteger)
    source_chat_id: Mapped[int] = mapped_column(BigInteger)
    source_message_id: Mapped[int] = mapped_column(BigInteger)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class GroupPrompt(Base):
    """A question asked in a grid group thread: is this message a report?"""

    __tablename__ = "group_prompts"
    __table_args__ = (
        UniqueConstraint("chat_id", "source_message_id", name="uq_group_prompts_source"),
    )

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    source_message_id: Mapped[int] = mapped_column(BigInteger)
    author_id: Mapped[int] = mapped_column(BigInteger)
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[PromptStatus] = mapped_column(
        EnumText(PromptStatus, 16), default=PromptStatus.OPEN
    )
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A private question about a captioned photo: attached when the resident taps 登记.
    photo_file_id: Mapped[str | None] = mapped_column(String(255))


class TicketEvent(Base):
    """The audit trail: who moved a ticket from where to where, when, and why."""

    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    actor_id: Mapped[int | None] = mapped_column(BigInteger)
    role: Mapped[Role] = mapped_column(EnumText(Role, 16))
    action: Mapped[EventKind] = mapped_column(EnumText(EventKind, 32))
    from_status: Mapped[Status | None] = mapped_column(EnumText(Status, 16))
    to_status: Mapped[Status] = mapped_column(EnumText(Status, 16))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TicketRating(Base):
    """A reporter's rating of one resolution round."""

    __tablename__ = "ratings"
    __table_args__ = (
        UniqueConstraint("ticket_id", "round", "rater_id", name="uq_ratings_once"),
        Index("ix_ratings_created", "created_at"),  # the console's figures, by period
    )

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    round: Mapped[int] = mapped_column(Integer)
    rater_id: Mapped[int] = mapped_column(BigInteger)
    score: Mapped[Rating] = mapped_column(EnumText(Rating, 16))
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Attachment(Base):
    """A photo or location attached to a ticket."""

    __tablename__ = "attachments"
    __table_args__ = (
        UniqueConstraint("source_chat_id", "source_message_id", name="uq_attachments_source"),
    )

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    kind: Mapped[AttachmentKind] = mapped_column(EnumText(AttachmentKind, 16))
    file_id: Mapped[str | None] = mapped_column(String(255))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    source_chat_id: Mapped[int] = mapped_column(BigInteger)
    source_message_id: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StaffCard(Base):
    """Where a ticket's card was posted, so later changes edit it in place."""

    __tablename__ = "staff_cards"

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    # The forum topic of the department's binding (0: none): departments may share a group.
    thread_id: Mapped[int] = mapped_column(
        BigInteger, primary_key=True, autoincrement=False, default=0, server_default="0"
    )
    message_id: Mapped[int] = mapped_column(BigInteger)


class PendingInput(Base):
    """A question the bot asked; in a group only the asker's reply to the prompt answers it."""

    __tablename__ = "pending_inputs"

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    kind: Mapped[PendingKind] = mapped_column(EnumText(PendingKind, 32))
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    round: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The outbox key of the prompt message: in a group, only a reply to that message answers.
    prompt_key: Mapped[str | None] = mapped_column(String(128))


class InboxUpdate(Base):
    """An update from Telegram, stored before it is confirmed, and what became of it
    (`InboxStatus`). Done rows are pruned after 48 hours."""

    __tablename__ = "inbox"
    __table_args__ = (
        # The claim query: "the oldest pending row of each chat".
        Index("ix_inbox_chat_queue", "chat_key", "status", "id"),
        Index("ix_inbox_status_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    update_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    chat_key: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[UpdateKind] = mapped_column(EnumText(UpdateKind, 32), default=UpdateKind.UNKNOWN)
    payload: Mapped[str] = mapped_column(Text)
    status: Mapped[InboxStatus] = mapped_column(
        EnumText(InboxStatus, 8), default=InboxStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claim: Mapped[str | None] = mapped_column(String(32))
    last_error: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OutboxMessage(Base):
    """A message to send, written in the same transaction as the change it reports."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "status", "next_attempt_at"),
        # The sender's queue: each waiting chat's oldest row, one index probe per chat.
        Index(
            "ix_outbox_waiting",
            "chat_id",
            "id",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
        # A card update finds the digest its card went out in.
        Index(
            "ix_outbox_digests",
            "chat_id",
            "message_id",
            postgresql_where=text("kind = 'digest'"),
            sqlite_where=text("kind = 'digest'"),
        ),
    )

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    # The forum topic to post in (0: the chat's own, or where the replied-to post is).
    thread_id: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    kind: Mapped[Kind] = mapped_column(EnumText(Kind, 16), default=Kind.NOTICE)
    payload: Mapped[str] = mapped_column(Text)  # the intent's fields (bot.intents.dumps)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    status: Mapped[OutboxStatus] = mapped_column(
        EnumText(OutboxStatus, 16), default=OutboxStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Followup(Base):
    """One reporter's 回访 answers for one resolution round (every round is kept)."""

    __tablename__ = "followups"
    __table_args__ = (
        UniqueConstraint("ticket_id", "round", "rater_id", name="uq_followups_once"),
    )

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    round: Mapped[int] = mapped_column(Integer)
    rater_id: Mapped[int] = mapped_column(BigInteger)
    # 承办单位是否联系过您 / 问题是否解决 (resolved, partial, unresolved) / 满意度 (a Rating).
    contacted: Mapped[bool | None] = mapped_column(Boolean)
    solved: Mapped[str | None] = mapped_column(String(16))
    satisfaction: Mapped[str | None] = mapped_column(String(16))
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ConsoleLink(Base):
    """A one-time sign-in link to the web console (only its hash is kept)."""

    __tablename__ = "console_links"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ConsoleSession(Base):
    """A signed-in console session (only the hash of its id is kept)."""

    __tablename__ = "console_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger, index=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ConsoleView(Base):
    """The audit of who opened which ticket's details in the web console, and when."""

    __tablename__ = "console_views"

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(BigInteger, index=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LabelledExample(Base):
    """A message labelled by a person who corrected the bot: data for growing the rules.

    `source` says which correction it came from (a staff category change, 不是 / 不用了 to a
    prompt, 非诉求 on a card); the other columns are the dev_colloquial CSV's.
    """

    __tablename__ = "labelled_examples"

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(128), default="")
    intent: Mapped[str] = mapped_column(String(8), default="")
    urgency: Mapped[str] = mapped_column(String(8), default="")
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    actor_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# -- statistics rollups (bot.services.statistics.rollup) -------------------------------------
# Database triggers note every ticket whose statistics may have changed in `stats_dirty`; the
# rollup folds those tickets in (their old contribution out, the new one in) before figures
# are read, so the rolled-up figures are always those of the rows themselves.


class StatsDirty(Base):
    """A ticket whose contribution to the statistics rollups must be recomputed."""

    __tablename__ = "stats_dirty"

    ticket_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)


class StatsTicket(Base):
    """One ticket's contribution to the rollups, as last folded in (the clock left out).

    The `pending_*` columns hold what depends on the time of reading: a deadline to accept
    by (not yet accepted) or to resolve by (open, not marked overdue); both are added when the
    figures are read.
    """

    __tablename__ = "stats_tickets"
    __table_args__ = (
        Index(
            "ix_stats_tickets_pending",
            "day",
            postgresql_where=text("pending_accept_by IS NOT NULL OR pending_deadline IS NOT NULL"),
            sqlite_where=text("pending_accept_by IS NOT NULL OR pending_deadline IS NOT NULL"),
        ),
    )

    ticket_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    day: Mapped[date] = mapped_column(Date)  # filed, Beijing
    department: Mapped[str] = mapped_column(String(48))
    grid_chat_id: Mapped[int] = mapped_column(BigInteger)  # 0 = not from a grid group
    category: Mapped[str] = mapped_column(String(128))
    intent: Mapped[str] = mapped_column(String(8))
    counted: Mapped[bool] = mapped_column(Boolean)  # not cancelled
    voices: Mapped[int] = mapped_column(Integer)
    merged: Mapped[int] = mapped_column(Integer)
    accept_due: Mapped[int] = mapped_column(Integer)
    accepted_on_time: Mapped[int] = mapped_column(Integer)
    overdue: Mapped[int] = mapped_column(Integer)
    resolved: Mapped[int] = mapped_column(Integer)
    reopened: Mapped[int] = mapped_column(Integer)
    resolved_day: Mapped[date | None] = mapped_column(Date)
    resolve_due: Mapped[int] = mapped_column(Integer)
    resolved_on_time: Mapped[int] = mapped_column(Integer)
    pending_accept_by: Mapped[datetime | None] = mapped_column(UTCDateTime)
    pending_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime)
    verdict_day: Mapped[date | None] = mapped_column(Date)  # the counted 回访's, Beijing
    unrated: Mapped[bool] = mapped_column(Boolean)
    answer: Mapped[str] = mapped_column(String(40))  # "contacted|solved|satisfaction" or ""


class StatsDaily(Base):
    """Per filing day, department, grid and category: the tickets' counts (clock left out)."""

    __tablename__ = "stats_daily"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    department: Mapped[str] = mapped_column(String(48), primary_key=True)
    grid_chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    category: Mapped[str] = mapped_column(String(128), primary_key=True)
    filed: Mapped[int] = mapped_column(Integer)
    voices: Mapped[int] = mapped_column(Integer)
    merged: Mapped[int] = mapped_column(Integer)
    accept_due: Mapped[int] = mapped_column(Integer)
    accepted_on_time: Mapped[int] = mapped_column(Integer)
    overdue: Mapped[int] = mapped_column(Integer)
    resolved: Mapped[int] = mapped_column(Integer)
    reopened: Mapped[int] = mapped_column(Integer)
    resolve_due: Mapped[int] = mapped_column(Integer)
    resolved_on_time: Mapped[int] = mapped_column(Integer)


class StatsResolveDays(Base):
    """Resolved tickets per filing day and resolution day (working days are counted on read)."""

    __tablename__ = "stats_resolve_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    resolved_day: Mapped[date] = mapped_column(Date, primary_key=True)
    department: Mapped[str] = mapped_column(String(48), primary_key=True)
    grid_chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    category: Mapped[str] = mapped_column(String(128), primary_key=True)
    n: Mapped[int] = mapped_column(Integer)


class StatsFollowupDaily(Base):
    """Concluded 回访 per day (`basis` "filed": the filing day, "closed": the verdict's).

    `valid` counts the complete 回访, and one column per question and answer how many of
    them gave that answer.
    """

    __tablename__ = "stats_followup_daily"

    basis: Mapped[str] = mapped_column(String(8), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    department: Mapped[str] = mapped_column(String(48), primary_key=True)
    grid_chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    category: Mapped[str] = mapped_column(String(128), primary_key=True)
    intent: Mapped[str] = mapped_column(String(8), primary_key=True)
    concluded: Mapped[int] = mapped_column(Integer)
    unrated: Mapped[int] = mapped_column(Integer)
    valid: Mapped[int] = mapped_column(Integer)
    contacted_yes: Mapped[int] = mapped_column(Integer)
    contacted_no: Mapped[int] = mapped_column(Integer)
    solved_resolved: Mapped[int] = mapped_column(Integer)
    solved_partial: Mapped[int] = mapped_column(Integer)
    solved_unresolved: Mapped[int] = mapped_column(Integer)
    satisfaction_satisfied: Mapped[int] = mapped_column(Integer)
    satisfaction_basic: Mapped[int] = mapped_column(Integer)
    satisfaction_dissatisfied: Mapped[int] = mapped_column(Integer)


# Every write that can change a ticket's statistics notes the ticket, in the same transaction.
_WATCHED = {
    "tickets": "id",
    "ticket_events": "ticket_id",
    "ratings": "ticket_id",
    "followups": "ticket_id",
    "ticket_reporters": "ticket_id",
}


def stats_trigger_ddl(dialect: str) -> list[str]:
    """The statements creating the triggers that fill `stats_dirty` on this dialect."""
    out: list[str] = []
    if dialect == "postgresql":
        # Statement triggers over transition tables: one insert per statement, so COPY and
        # bulk updates stay cheap. An update notes the old ticket too (a row moved on merge).
        for table, column in _WATCHED.items():
            for op, refs, source in (
                ("INSERT", "NEW TABLE AS new_rows", "new_rows"),
                ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows",
                 f"(SELECT {column} FROM new_rows UNION SELECT {column} FROM old_rows) AS rows"),
                ("DELETE", "OLD TABLE AS old_rows", "old_rows"),
            ):  # fmt: skip
                fn = f"stats_mark_{table}_{op.lower()}"
                out.append(
                    f"CREATE OR REPLACE FUNCTION {fn}() RETURNS trigger LANGUAGE plpgsql AS $$ "
                    f"BEGIN INSERT INTO stats_dirty (ticket_id) SELECT DISTINCT {column} "
                    f"FROM {source} ORDER BY 1 ON CONFLICT DO NOTHING; RETURN NULL; END $$"
                )
                out.append(f"DROP TRIGGER IF EXISTS {fn} ON {table}")
                out.append(
                    f"CREATE TRIGGER {fn} AFTER {op} ON {table} REFERENCING {refs} "
                    f"FOR EACH STATEMENT EXECUTE FUNCTION {fn}()"
                )
    else:
        for table, column in _WATCHED.items():
            for op, rows in (
                ("INSERT", ("NEW",)),
                ("UPDATE", ("NEW", "OLD")),
                ("DELETE", ("OLD",)),
            ):
                body = " ".join(
                    f"INSERT OR IGNORE INTO stats_dirty (ticket_id) VALUES ({r}.{column});"
                    for r in rows
                )
                out.append(
                    f"CREATE TRIGGER IF NOT EXISTS stats_mark_{table}_{op.lower()} "
                    f"AFTER {op} ON {table} "
                    f"FOR EACH ROW BEGIN {body} END"
                )
    return out


def stats_trigger_drop_ddl(dialect: str) -> list[str]:
    """The statements dropping those triggers."""
    out: list[str] = []
    for table in _WATCHED:
        for op in ("insert", "update", "delete"):
            name = f"stats_mark_{table}_{op}"
            if dialect == "postgresql":
                out.append(f"DROP TRIGGER IF EXISTS {name} ON {table}")
                out.append(f"DROP FUNCTION IF EXISTS {name}()")
            else:
                out.append(f"DROP TRIGGER IF EXISTS {name}")
    return out


@event.listens_for(Base.metadata, "after_create")
def _create_stats_triggers(target: MetaData, connection: Connection, **kw: Any) -> None:
    for statement in stats_trigger_ddl(connection.dialect.name):
        connection.exec_driver_sql(statement)
