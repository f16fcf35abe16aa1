"""prompts answered by reply, confidential reporters

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 17:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("pending_inputs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("prompt_key", sa.String(length=128), nullable=True))
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("confidential", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_column("confidential")
    with op.batch_alter_table("pending_inputs", schema=None) as batch_op:
        batch_op.drop_column("prompt_key")
