"""Columns holding a closed set of values are typed: what is stored reads back as a member."""

from __future__ import annotations

import ast
from pathlib import Path

from telegram import Update

from storage.models import UpdateKind

MODELS = Path(__file__).resolve().parents[2] / "storage" / "models.py"
KINDS_AND_STATES = {"kind", "status", "state", "action", "role", "intent", "urgency", "score"}
# Left plain on purpose: labelled examples keep the CSV's own labels (data for the rules, any
# value a person typed), and the statistics rollups are written by database triggers.
FREE = {
    ("LabelledExample", "kind"),
    ("LabelledExample", "intent"),
    ("LabelledExample", "urgency"),
    ("StatsTicket", "intent"),
    ("StatsFollowupDaily", "intent"),
}


def test_update_kinds_are_the_ones_the_bot_subscribes_to() -> None:
    assert {k.value for k in UpdateKind} - {""} == set(Update.ALL_TYPES)


def test_an_update_kind_telegram_adds_later_is_stored_as_unknown() -> None:
    assert UpdateKind("story_reaction") is UpdateKind.UNKNOWN
    assert UpdateKind("callback_query") is UpdateKind.CALLBACK_QUERY


def test_kind_and_status_columns_are_typed() -> None:
    plain: list[str] = []
    for cls in ast.parse(MODELS.read_text(encoding="utf-8")).body:
        if not isinstance(cls, ast.ClassDef):
            continue
        for item in cls.body:
            if not (isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name)):
                continue
            name = item.target.id
            if name not in KINDS_AND_STATES or (cls.name, name) in FREE:
                continue
            if "Mapped[str" in ast.unparse(item.annotation):
                plain.append(f"{cls.name}.{name}")
    assert not plain, f"plain string columns holding a kind or a state: {plain}"
