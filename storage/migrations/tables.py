"""Column shapes migrations repeat when they create a table: its row id and a ticket reference.

Each returns exactly what Alembic's autogenerate wrote by hand before, so a migration using
them creates the same schema.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


def row_id() -> sa.Column[int]:
    """The `id` primary-key column: BIGINT, INTEGER on SQLite (so it autoincrements)."""
    return sa.Column(
        "id",
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        autoincrement=True,
        nullable=False,
    )


def ticket_ref(table: str) -> tuple[sa.Column[int], sa.ForeignKeyConstraint]:
    """A required `ticket_id` column and its named foreign key to `tickets.id`."""
    column: sa.Column[int] = sa.Column(
        "ticket_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
    )
    key = sa.ForeignKeyConstraint(
        ["ticket_id"], ["tickets.id"], name=op.f(f"fk_{table}_ticket_id_tickets")
    )
    return column, key


def primary_key(table: str) -> sa.PrimaryKeyConstraint:
    """The table's primary key on `id`, named as the naming convention names it."""
    return sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}"))
