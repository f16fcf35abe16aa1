"""outbox chat queue index

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 10:39:43.544670
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""

    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_chat_queue", ["chat_id", "status", "id"], unique=False)


def downgrade() -> None:
    """Revert this revision."""

    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_chat_queue")
