"""a private question keeps the photo it was asked about

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 19:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("group_prompts") as batch:
        batch.add_column(sa.Column("photo_file_id", sa.String(length=255), nullable=True))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("group_prompts") as batch:
        batch.drop_column("photo_file_id")
