"""merged reporters

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 10:02:29.982010
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""

    op.create_table(
        "ticket_reporters",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "ticket_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("source_chat_id", sa.BigInteger(), nullable=False),
        sa.Column("source_message_id", sa.BigInteger(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", storage.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_ticket_reporters_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_reporters")),
        sa.UniqueConstraint(
            "source_chat_id", "source_message_id", name="uq_ticket_reporters_source"
        ),
    )
    with op.batch_alter_table("ticket_reporters", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ticket_reporters_ticket_id"), ["ticket_id"], unique=False
        )


def downgrade() -> None:
    """Revert this revision."""

    with op.batch_alter_table("ticket_reporters", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ticket_reporters_ticket_id"))

    op.drop_table("ticket_reporters")
