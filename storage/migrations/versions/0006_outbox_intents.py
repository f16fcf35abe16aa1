"""outbox holds intents; its queue index covers waiting rows only

Rows hold a typed intent (`kind` + its fields) instead of a Bot API method and payload.
Messages still waiting are rewritten into intents, so none is lost across the upgrade; rows
already sent keep their old payload (history only). The sender's queue index becomes a
partial index over waiting rows (the plain chat_id index goes: PostgreSQL preferred it and then
filtered every row already sent), so finding each chat's oldest waiting row costs one probe per
chat rather than a scan of every waiting row.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 18:00:00
"""

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WAITING = sa.text("status = 'pending'")


def _buttons(payload: dict[str, Any]) -> list[list[list[str]]]:
    rows = (payload.get("reply_markup") or {}).get("inline_keyboard") or []
    return [[[b["text"], b["callback_data"]] for b in row] for row in rows if row]


def _reply_to(payload: dict[str, Any]) -> int | None:
    reply = payload.get("reply_parameters")
    return reply.get("message_id") if isinstance(reply, dict) else None


def _intent(method: str, purpose: str, payload: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The intent a waiting Bot API row stood for (kind, fields)."""
    if method in ("deleteMessage", "editMessageReplyMarkup"):
        target = {"message_id": payload.get("message_id"), "outbox_key": payload.get("ref_key")}
        kind = "removal" if method == "deleteMessage" else "buttons_off"
        return kind, {"target": target}
    if method == "sendPhoto":
        fields = {"file_id": payload["photo"], "caption": payload.get("caption", "")}
        return "photo", fields | {"reply_to": _reply_to(payload)}
    text = payload.get("text", "")
    if method == "editMessageText":
        return "card_update", {"text": text, "buttons": _buttons(payload)}
    if (payload.get("reply_markup") or {}).get("force_reply"):
        return "prompt", {"text": text, "reply_to": _reply_to(payload), "selective": False}
    if purpose == "card":
        return "card", {"text": text, "buttons": _buttons(payload)}
    kind = "group_answer" if purpose in ("group_ack", "group_prompt") else "notice"
    return kind, {"text": text, "buttons": _buttons(payload), "reply_to": _reply_to(payload)}


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=16), nullable=False, server_default="notice")
        )
    bind = op.get_bind()
    waiting = bind.execute(
        sa.text("SELECT id, method, purpose, payload FROM outbox WHERE status = 'pending'")
    ).fetchall()
    for row_id, method, purpose, payload in waiting:
        kind, fields = _intent(method, purpose, json.loads(payload))
        bind.execute(
            sa.text("UPDATE outbox SET kind = :kind, payload = :payload WHERE id = :id"),
            {"kind": kind, "payload": json.dumps(fields, ensure_ascii=False), "id": row_id},
        )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.alter_column("kind", server_default=None)
        batch_op.drop_index("ix_outbox_chat_queue")
        batch_op.drop_index("ix_outbox_chat_id")  # the planner preferred it, filtering rows sent
        batch_op.drop_column("method")
        batch_op.drop_column("purpose")
        batch_op.create_index(
            "ix_outbox_waiting",
            ["chat_id", "id"],
            unique=False,
            postgresql_where=WAITING,
            sqlite_where=WAITING,
        )


def downgrade() -> None:
    """Revert this revision (rows waiting as intents must be sent before downgrading)."""
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_waiting")
        batch_op.add_column(
            sa.Column("method", sa.String(length=32), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("purpose", sa.String(length=32), nullable=False, server_default="notice")
        )
        batch_op.create_index("ix_outbox_chat_queue", ["chat_id", "status", "id"], unique=False)
        batch_op.create_index("ix_outbox_chat_id", ["chat_id"], unique=False)
        batch_op.drop_column("kind")
