"""grid groups

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 09:50:32.734658
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""

    op.create_table(
        "blocked_users",
        sa.Column("user_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("blocked_by", sa.BigInteger(), nullable=False),
        sa.Column("created_at", storage.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_blocked_users")),
    )
    op.create_table(
        "group_prompts",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("source_message_id", sa.BigInteger(), nullable=False),
        sa.Column("author_id", sa.BigInteger(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("expires_at", storage.models.UTCDateTime(), nullable=False),
        sa.Column("created_at", storage.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_prompts")),
        sa.UniqueConstraint("chat_id", "source_message_id", name="uq_group_prompts_source"),
    )
    with op.batch_alter_table("group_prompts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_group_prompts_expires_at"), ["expires_at"], unique=False
        )

    op.create_table(
        "grid_workers",
        sa.Column("grid_chat_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("user_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("display_name", sa.String(length=128), nullable=False),
        sa.Column("added_by", sa.BigInteger(), nullable=True),
        sa.Column("created_at", storage.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["grid_chat_id"],
            ["bound_chats.chat_id"],
            name=op.f("fk_grid_workers_grid_chat_id_bound_chats"),
        ),
        sa.PrimaryKeyConstraint("grid_chat_id", "user_id", name=op.f("pk_grid_workers")),
    )
    with op.batch_alter_table("bound_chats", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("name", sa.String(length=64), nullable=False, server_default="")
        )

    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("grid_chat_id", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("worker_id", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("reporter_name", sa.String(length=128), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_tickets_grid_chat_id"), ["grid_chat_id"], unique=False
        )


def downgrade() -> None:
    """Revert this revision."""

    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tickets_grid_chat_id"))
        batch_op.drop_column("reporter_name")
        batch_op.drop_column("worker_id")
        batch_op.drop_column("grid_chat_id")

    with op.batch_alter_table("bound_chats", schema=None) as batch_op:
        batch_op.drop_column("name")

    op.drop_table("grid_workers")
    with op.batch_alter_table("group_prompts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_group_prompts_expires_at"))

    op.drop_table("group_prompts")
    op.drop_table("blocked_users")
