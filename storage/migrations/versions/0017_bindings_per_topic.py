"""a binding is a chat or one forum topic of it: several departments may share a forum group

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01 21:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    # A grid group's workers no longer point at a unique chat row (a chat may hold several
    # bindings); the binding's removal deletes them explicitly.
    with op.batch_alter_table("grid_workers") as batch:
        batch.drop_constraint("fk_grid_workers_grid_chat_id_bound_chats", type_="foreignkey")
    op.execute("UPDATE bound_chats SET thread_id = 0 WHERE thread_id IS NULL")
    with op.batch_alter_table("bound_chats", recreate="always") as batch:
        batch.alter_column(
            "thread_id", existing_type=sa.BigInteger(), nullable=False, server_default="0"
        )
        batch.drop_constraint("pk_bound_chats", type_="primary")
        batch.create_primary_key("pk_bound_chats", ["chat_id", "thread_id"])
    with op.batch_alter_table("staff_cards", recreate="always") as batch:
        batch.add_column(
            sa.Column("thread_id", sa.BigInteger(), nullable=False, server_default="0")
        )
        batch.drop_constraint("pk_staff_cards", type_="primary")
        batch.create_primary_key("pk_staff_cards", ["ticket_id", "chat_id", "thread_id"])
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(
            sa.Column("thread_id", sa.BigInteger(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    """Revert this revision (a chat keeps its first binding only)."""
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("thread_id")
    op.execute("DELETE FROM staff_cards WHERE thread_id <> 0")
    with op.batch_alter_table("staff_cards", recreate="always") as batch:
        batch.drop_constraint("pk_staff_cards", type_="primary")
        batch.create_primary_key("pk_staff_cards", ["ticket_id", "chat_id"])
        batch.drop_column("thread_id")
    op.execute(
        "DELETE FROM bound_chats WHERE thread_id <> (SELECT MIN(b.thread_id) FROM bound_chats b"
        " WHERE b.chat_id = bound_chats.chat_id)"
    )
    with op.batch_alter_table("bound_chats", recreate="always") as batch:
        batch.drop_constraint("pk_bound_chats", type_="primary")
        batch.create_primary_key("pk_bound_chats", ["chat_id"])
        batch.alter_column("thread_id", existing_type=sa.BigInteger(), nullable=True)
    with op.batch_alter_table("grid_workers") as batch:
        batch.create_foreign_key(
            "fk_grid_workers_grid_chat_id_bound_chats", "bound_chats", ["grid_chat_id"],
            ["chat_id"],
        )  # fmt: skip
