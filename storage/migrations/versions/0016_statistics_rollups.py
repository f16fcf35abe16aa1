"""statistics rollups: per-day counts kept in step with the tickets by triggers

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01 21:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

def _key() -> list[sa.Column[object]]:
    return [
        sa.Column("department", sa.String(length=48), nullable=False),
        sa.Column("grid_chat_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("category", sa.String(length=128), nullable=False),
    ]


def _counts(*names: str) -> list[sa.Column[object]]:
    return [sa.Column(n, sa.Integer(), nullable=False) for n in names]


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "stats_dirty",
        sa.Column("ticket_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("ticket_id", name=op.f("pk_stats_dirty")),
    )
    op.create_table(
        "stats_tickets",
        sa.Column("ticket_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        *_key(),
        sa.Column("intent", sa.String(length=8), nullable=False),
        sa.Column("counted", sa.Boolean(), nullable=False),
        *_counts("voices", "merged", "accept_due", "accepted_on_time", "overdue", "resolved"),
        *_counts("reopened"),
        sa.Column("resolved_day", sa.Date(), nullable=True),
        *_counts("resolve_due", "resolved_on_time"),
        sa.Column("pending_accept_by", storage.models.UTCDateTime(), nullable=True),
        sa.Column("pending_deadline", storage.models.UTCDateTime(), nullable=True),
        sa.Column("verdict_day", sa.Date(), nullable=True),
        sa.Column("unrated", sa.Boolean(), nullable=False),
        sa.Column("answer", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("ticket_id", name=op.f("pk_stats_tickets")),
    )
    pending = sa.text("pending_accept_by IS NOT NULL OR pending_deadline IS NOT NULL")
    op.create_index(
        "ix_stats_tickets_pending",
        "stats_tickets",
        ["day"],
        postgresql_where=pending,
        sqlite_where=pending,
    )
    op.create_table(
        "stats_daily",
        sa.Column("day", sa.Date(), nullable=False),
        *_key(),
        *_counts("filed", "voices", "merged", "accept_due", "accepted_on_time", "overdue"),
        *_counts("resolved", "reopened", "resolve_due", "resolved_on_time"),
        sa.PrimaryKeyConstraint(
            "day", "department", "grid_chat_id", "category", name=op.f("pk_stats_daily")
        ),
    )
    op.create_table(
        "stats_resolve_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("resolved_day", sa.Date(), nullable=False),
        *_key(),
        *_counts("n"),
        sa.PrimaryKeyConstraint(
            "day",
            "resolved_day",
            "department",
            "grid_chat_id",
            "category",
            name=op.f("pk_stats_resolve_days"),
        ),
    )
    op.create_table(
        "stats_followup_daily",
        sa.Column("basis", sa.String(length=8), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        *_key(),
        sa.Column("intent", sa.String(length=8), nullable=False),
        *_counts("concluded", "unrated", "valid", "contacted_yes", "contacted_no"),
        *_counts("solved_resolved", "solved_partial", "solved_unresolved"),
        *_counts("satisfaction_satisfied", "satisfaction_basic", "satisfaction_dissatisfied"),
        sa.PrimaryKeyConstraint(
            "basis", "day", "department", "grid_chat_id", "category", "intent",
            name=op.f("pk_stats_followup_daily"),
        ),
    )
    dialect = op.get_bind().dialect.name
    for statement in storage.models.stats_trigger_ddl(dialect):
        op.execute(statement)
    # Every existing ticket is folded in by the first read (or the sweeper).
    op.execute("INSERT INTO stats_dirty (ticket_id) SELECT id FROM tickets")


def downgrade() -> None:
    """Revert this revision."""
    for statement in storage.models.stats_trigger_drop_ddl(op.get_bind().dialect.name):
        op.execute(statement)
    for table in (
        "stats_followup_daily", "stats_resolve_days", "stats_daily", "stats_tickets",
        "stats_dirty",
    ):  # fmt: skip
        op.drop_table(table)
