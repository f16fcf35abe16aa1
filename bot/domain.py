"""Domain vocabulary: statuses, actions, roles, the ticket state machine and the error tree."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import date


class Status(enum.StrEnum):
    """Where a ticket stands in the loop 反映 → 受理 → 办结 → 评价 (→ 重办)."""

    NEW = "new"
    ACCEPTED = "accepted"
    RESOLVED = "resolved"
    REOPENED = "reopened"
    RETURNED = "returned"
    CANCELLED = "cancelled"
    CLOSED = "closed"


class Action(enum.StrEnum):
    """Something a person (or the system) does to a ticket."""

    ACCEPT = "accept"
    RESOLVE = "resolve"
    RETURN = "return"
    CANCEL = "cancel"
    RATE_OK = "rate_ok"
    RATE_REOPEN = "rate_reopen"


class Role(enum.StrEnum):
    """Who is acting, as the database knows them."""

    REPORTER = "reporter"
    STAFF = "staff"
    SYSTEM = "system"


class Rating(enum.StrEnum):
    """The reporter's verdict on a resolution."""

    SATISFIED = "satisfied"
    BASIC = "basic"
    DISSATISFIED = "dissatisfied"


class Urgency(enum.StrEnum):
    """How soon a ticket must be handled."""

    URGENT = "紧急"
    NORMAL = "一般"


@dataclass(frozen=True, slots=True)
class Transition:
    """One row of the state machine: from which status, by which action, to which, by whom."""

    source: Status
    action: Action
    target: Status
    roles: frozenset[Role]


_STAFF = frozenset({Role.STAFF})
_REPORTER = frozenset({Role.REPORTER})

TRANSITIONS: tuple[Transition, ...] = (
    Transition(Status.NEW, Action.ACCEPT, Status.ACCEPTED, _STAFF),
    Transition(Status.REOPENED, Action.ACCEPT, Status.ACCEPTED, _STAFF),
    Transition(Status.NEW, Action.RETURN, Status.RETURNED, _STAFF),
    Transition(Status.ACCEPTED, Action.RETURN, Status.RETURNED, _STAFF),
    Transition(Status.REOPENED, Action.RETURN, Status.RETURNED, _STAFF),
    Transition(Status.NEW, Action.RESOLVE, Status.RESOLVED, _STAFF),
    Transition(Status.ACCEPTED, Action.RESOLVE, Status.RESOLVED, _STAFF),
    Transition(Status.REOPENED, Action.RESOLVE, Status.RESOLVED, _STAFF),
    Transition(Status.NEW, Action.CANCEL, Status.CANCELLED, _REPORTER),
    Transition(Status.RESOLVED, Action.RATE_OK, Status.CLOSED, _REPORTER),
    Transition(Status.RESOLVED, Action.RATE_REOPEN, Status.REOPENED, _REPORTER),
    # With several reporters, a later one's bad rating still reopens a closed ticket.
    Transition(Status.CLOSED, Action.RATE_REOPEN, Status.REOPENED, _REPORTER),
)

_TABLE: dict[tuple[Status, Action], Transition] = {(t.source, t.action): t for t in TRANSITIONS}

OPEN_STATUSES = frozenset({Status.NEW, Status.ACCEPTED, Status.REOPENED})


class HuiyinError(Exception):
    """Base of every error a service raises; `str()` is a message fit for the user."""


class NotFound(HuiyinError):
    """The ticket (or thing) does not exist, or is not visible to this person."""


class NotAllowed(HuiyinError):
    """This person may not do this."""


class IllegalTransition(HuiyinError):
    """The ticket's status does not allow this action."""

    def __init__(self, status: Status, action: Action, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.action = action


class InvalidInput(HuiyinError):
    """The input cannot be used (empty, too long, unreadable)."""


class Stale(HuiyinError):
    """A button or prompt refers to a state that has since moved on."""


def transition_for(status: Status, action: Action) -> Transition | None:
    """Return the legal transition for this status and action, or None."""
    return _TABLE.get((status, action))


def check_transition(status: Status, action: Action, role: Role) -> Transition:
    """Return the transition, or raise IllegalTransition / NotAllowed (message set by caller)."""
    t = _TABLE.get((status, action))
    if t is None:
        raise IllegalTransition(status, action, "")
    if role not in t.roles:
        raise NotAllowed("")
    return t


_NUMBER_RE = re.compile(r"^(\d{8})-(\d{4,})$")


def format_ticket_number(day: date, seq: int) -> str:
    """Format a ticket number: filing day, then that day's sequence (widens past 9999)."""
    return f"{day:%Y%m%d}-{seq:04d}"


def parse_ticket_number(text: str) -> str | None:
    """Return the canonical ticket number found in `text`, or None."""
    m = _NUMBER_RE.match(text.strip().lstrip("#").replace("－", "-"))
    if m is None:
        return None
    return f"{m.group(1)}-{int(m.group(2)):04d}"
