"""The state machine table and ticket numbers."""

from __future__ import annotations

from datetime import date

import pytest

from bot.domain import (
    Action,
    IllegalTransition,
    NotAllowed,
    Role,
    Status,
    check_transition,
    format_ticket_number,
    parse_ticket_number,
)


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
