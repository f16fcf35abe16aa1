"""The state machine table and ticket numbers."""

from __future__ import annotations

import enum
from datetime import date
from typing import Any

import pytest
from sqlalchemy.dialects import sqlite

import nlp
from bot import deadlines
from bot.domain import (
    Action,
    Appeal,
    AttachmentKind,
    ChatKind,
    IllegalTransition,
    NotAllowed,
    PromptStatus,
    Role,
    Status,
    Urgency,
    check_transition,
    format_ticket_number,
    parse_ticket_number,
)
from bot.intents import Kind
from storage import models


@pytest.mark.parametrize(
    ("status", "action", "role", "target"),
    [
        (Status.NEW, Action.ACCEPT, Role.STAFF, Status.ACCEPTED),
        (Status.ACCEPTED, Action.RESOLVE, Role.STAFF, Status.RESOLVED),
        (Status.NEW, Action.CANCEL, Role.REPORTER, Status.CANCELLED),
        (Status.RESOLVED, Action.RATE_REOPEN, Role.REPORTER, Status.REOPENED),
        (Status.RESOLVED, Action.RATE_OK, Role.REPORTER, Status.CLOSED),
        (Status.REOPENED, Action.ACCEPT, Role.STAFF, Status.ACCEPTED),
    ],
)
def test_legal_transitions(status: Status, action: Action, role: Role, target: Status) -> None:
    assert check_transition(status, action, role).target == target


@pytest.mark.parametrize(
    ("status", "action"),
    [
        (Status.ACCEPTED, Action.ACCEPT),
        (Status.CANCELLED, Action.RESOLVE),
        (Status.CLOSED, Action.RETURN),
        (Status.ACCEPTED, Action.CANCEL),
        (Status.NEW, Action.RATE_OK),
    ],
)
def test_illegal_transitions(status: Status, action: Action) -> None:
    with pytest.raises(IllegalTransition):
        check_transition(status, action, Role.STAFF)


def test_roles_are_enforced() -> None:
    with pytest.raises(NotAllowed):
        check_transition(Status.NEW, Action.ACCEPT, Role.REPORTER)
    with pytest.raises(NotAllowed):
        check_transition(Status.RESOLVED, Action.RATE_OK, Role.STAFF)


def test_ticket_numbers() -> None:
    assert format_ticket_number(date(2026, 11, 23), 7) == "20261123-0007"
    assert format_ticket_number(date(2026, 11, 23), 12345) == "20261123-12345"
    assert parse_ticket_number(" #20261123-0007 ") == "20261123-0007"
    assert parse_ticket_number("20261123-12345") == "20261123-12345"
    assert parse_ticket_number("2026-11-23") is None
    assert parse_ticket_number("") is None


def test_the_appeal_enum_is_the_extractors_intents() -> None:
    assert [a.value for a in Appeal] == list(nlp.INTENTS) == list(deadlines.INTENTS)


@pytest.mark.parametrize(
    ("column", "kind"),
    [
        (models.Ticket.intent, Appeal),
        (models.Ticket.status, Status),
        (models.Ticket.urgency, Urgency),
        (models.GroupPrompt.status, PromptStatus),
        (models.Attachment.kind, AttachmentKind),
        (models.OutboxMessage.kind, Kind),
        (models.BoundChat.kind, ChatKind),
    ],
)
def test_enum_columns_are_typed(column: Any, kind: type[enum.StrEnum]) -> None:
    column_type = column.property.columns[0].type
    assert isinstance(column_type, models.EnumText) and column_type.kind is kind
    with pytest.raises(ValueError):  # a value outside the enum is never stored
        column_type.process_bind_param("no-such-value", sqlite.dialect())
