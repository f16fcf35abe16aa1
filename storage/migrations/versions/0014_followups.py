"""回访 answers per resolution round

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 17:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models
from storage.migrations.tables import primary_key, row_id, ticket_ref

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    ticket_id, ticket_fk = ticket_ref("followups")
    op.create_table(
        "followups",
        row_id(),
        ticket_id,
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("rater_id", sa.BigInteger(), nullable=False),
        sa.Column("contacted", sa.Boolean(), nullable=True),
        sa.Column("solved", sa.String(length=16), nullable=True),
        sa.Column("satisfaction", sa.String(length=16), nullable=True),
        sa.Column("completed_at", storage.models.UTCDateTime(), nullable=True),
        sa.Column("created_at", storage.models.UTCDateTime(), nullable=False),
        sa.Column("updated_at", storage.models.UTCDateTime(), nullable=False),
        ticket_fk,
        primary_key("followups"),
        sa.UniqueConstraint("ticket_id", "round", "rater_id", name="uq_followups_once"),
    )
    with op.batch_alter_table("followups", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_followups_ticket_id"), ["ticket_id"], unique=False)
    # The console reads tickets filed, and verdicts given, in a period.
    op.create_index("ix_tickets_created", "tickets", ["created_at"])
    op.create_index("ix_ratings_created", "ratings", ["created_at"])


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_ratings_created", table_name="ratings")
    op.drop_index("ix_tickets_created", table_name="tickets")
    with op.batch_alter_table("followups", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_followups_ticket_id"))
    op.drop_table("followups")
