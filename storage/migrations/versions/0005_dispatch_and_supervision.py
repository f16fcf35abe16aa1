"""dispatch and supervision

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 10:31:50.742072
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "department_members",
        sa.Column("user_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("department", sa.String(length=48), nullable=False),
        sa.Column("added_by", sa.BigInteger(), nullable=True),
        sa.Column("created_at", storage.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "department", name=op.f("pk_department_members")),
    )
    op.create_table(
        "ticket_assists",
        sa.Column(
            "ticket_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("department", sa.String(length=48), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("added_by", sa.BigInteger(), nullable=True),
        sa.Column("created_at", storage.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_ticket_assists_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("ticket_id", "department", name=op.f("pk_ticket_assists")),
    )
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("department", sa.String(length=48), nullable=True))
        batch_op.add_column(sa.Column("department_name", sa.String(length=128), nullable=True))
        batch_op.add_column(
            sa.Column("escalations", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("extension_to", storage.models.UTCDateTime(), nullable=True))
        batch_op.add_column(
            sa.Column("base_deadline_at", storage.models.UTCDateTime(), nullable=True)
        )
        batch_op.add_column(sa.Column("resolved_at", storage.models.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("remind_at", storage.models.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("escalate_at", storage.models.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("overdue_at", storage.models.UTCDateTime(), nullable=True))
        batch_op.add_column(
            sa.Column("supervision", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("due_kind", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("next_due_at", storage.models.UTCDateTime(), nullable=True))
        batch_op.create_index(
            "ix_tickets_department_deadline", ["department", "deadline_at"], unique=False
        )
        batch_op.create_index("ix_tickets_next_due", ["next_due_at"], unique=False)
    # Staff registered before departments existed work in the dispatch chat (总平台).
    op.execute(
        "INSERT INTO department_members (user_id, department, added_by, created_at) "
        "SELECT user_id, '', added_by, created_at FROM staff"
    )
    # Open tickets filed before the sweeper existed: chase them from their deadline on.
    op.execute(
        "UPDATE tickets SET supervision = 1, due_kind = 'overdue', next_due_at = deadline_at "
        "WHERE status IN ('new', 'accepted', 'reopened')"
    )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index("ix_tickets_next_due")
        batch_op.drop_index("ix_tickets_department_deadline")
        batch_op.drop_column("next_due_at")
        batch_op.drop_column("due_kind")
        batch_op.drop_column("supervision")
        batch_op.drop_column("overdue_at")
        batch_op.drop_column("escalate_at")
        batch_op.drop_column("remind_at")
        batch_op.drop_column("resolved_at")
        batch_op.drop_column("base_deadline_at")
        batch_op.drop_column("extension_to")
        batch_op.drop_column("escalations")
        batch_op.drop_column("department_name")
        batch_op.drop_column("department")

    op.drop_table("ticket_assists")
    op.drop_table("department_members")
