"""outbox: find the digest a card is shown in

A card update for a ticket whose card went out inside a digest rewrites that digest; the
sender finds it by (chat, message id) among the few rows that carried digests.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DIGESTS = sa.text("kind = 'digest'")


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index(
            "ix_outbox_digests",
            ["chat_id", "message_id"],
            unique=False,
            postgresql_where=DIGESTS,
            sqlite_where=DIGESTS,
        )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_digests")
