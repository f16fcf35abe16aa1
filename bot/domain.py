"""Domain vocabulary: statuses, actions, roles, the ticket state machine and the error tree."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import date

from bot.errors import (  # the error tree lives in bot.errors; these names stay importable here
    HuiyinError,
    IllegalTransition,
    InvalidInput,
    NotAllowed,
    NotFound,
    Refusal,
    Stale,
)

__all__ = [
    "HuiyinError",
    "IllegalTransition",
    "InvalidInput",
    "NotAllowed",
    "NotFound",
    "Refusal",
    "Stale",
]


class Status(enum.StrEnum):
    """Where a ticket stands in the loop 反映 → 受理 → 办结 → 评价 (→ 重办)."""

    NEW = "new"
    DISPATCHING = "dispatching"
    ACCEPTED = "accepted"
    EXTENDING = "extending"
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
    ASSIGN = "assign"
    TRANSFER = "transfer"
    SEND_BACK = "send_back"
    ASSIST = "assist"
    REQUEST_EXTENSION = "extend"
    APPROVE_EXTENSION = "extend_ok"
    REFUSE_EXTENSION = "extend_no"
    ESCALATE = "escalate"
    AUTOCLOSE = "autoclose"
    RECATEGORIZE = "recategorize"  # staff correct the category
    REROUTE = "reroute"  # the corrected category routes to another department: it must 受理
    REROUTE_DISPATCH = "reroute_dispatch"  # no rule routes the corrected category: to 派单
    NOT_REPORT = "not_report"  # staff mark a grid-group ticket 非诉求: closed, reporter told


class Role(enum.StrEnum):
    """Who is acting, as the database knows them."""

    REPORTER = "reporter"
    STAFF = "staff"  # a member of the department that holds the ticket
    DISPATCHER = "dispatcher"  # a member of the dispatch chat (总平台)
    SYSTEM = "system"
    WORKER = "worker"  # a grid worker acting in their grid group (never in the state machine)


class EventKind(enum.StrEnum):
    """What an audit row records: every `Action` (same value) and the events that keep the
    status (a ticket filed, a voice merged or split off, evidence added, the sweeper's steps)."""

    ACCEPT = "accept"
    RESOLVE = "resolve"
    RETURN = "return"
    CANCEL = "cancel"
    RATE_OK = "rate_ok"
    RATE_REOPEN = "rate_reopen"
    ASSIGN = "assign"
    TRANSFER = "transfer"
    SEND_BACK = "send_back"
    ASSIST = "assist"
    REQUEST_EXTENSION = "extend"
    APPROVE_EXTENSION = "extend_ok"
    REFUSE_EXTENSION = "extend_no"
    ESCALATE = "escalate"
    AUTOCLOSE = "autoclose"
    RECATEGORIZE = "recategorize"
    REROUTE = "reroute"
    REROUTE_DISPATCH = "reroute_dispatch"
    NOT_REPORT = "not_report"
    REPORT = "report"  # the ticket was filed
    MERGE = "merge"  # another report joined the ticket
    SPLIT = "split"  # a wrongly merged report left it
    REOPEN_REASON = "reopen_reason"  # why the reporter was dissatisfied
    ATTACH_PHOTO = "attach_photo"
    ATTACH_LOCATION = "attach_location"
    REMIND = "remind"  # 催办
    OVERDUE = "overdue"  # 督办
    RATE_REMIND = "rate_remind"
    UNDELIVERABLE = "undeliverable"  # the reporter cannot be messaged
    REVEAL_CONTACT = "reveal_contact"  # staff saw who reported it (the note says why)
    SUPPLEMENT = "supplement"  # 补充: the reporter edited the message they reported
    CONFIDENTIAL = "confidential"  # the reporter asked for 保密: only the dispatch chat reveals
    NOT_CONFIDENTIAL = "confidential_off"  # the reporter took 保密 back before acceptance

    @classmethod
    def of(cls, action: Action) -> EventKind:
        """The event an action writes."""
        return cls(action.value)


class ChatKind(enum.StrEnum):
    """What a bound group chat is for."""

    STAFF = "staff"  # a department's staff chat, or the dispatch chat (总平台)
    GRID = "grid"  # a grid group where residents talk and grid workers hand posts over


class DueKind(enum.StrEnum):
    """The sweeper's next step on a ticket (kept on the ticket row)."""

    REMIND = "remind"  # 催办
    OVERDUE = "overdue"  # 督办
    ESCALATE = "escalate"  # 提级
    RATE_REMIND = "rate_remind"
    AUTOCLOSE = "autoclose"  # closed as 未评价


class Rating(enum.StrEnum):
    """The reporter's verdict on a resolution."""

    SATISFIED = "satisfied"
    BASIC = "basic"
    DISSATISFIED = "dissatisfied"
    UNRATED = "unrated"  # closed after the rating period: never counts as satisfied


class Solved(enum.StrEnum):
    """The reporter's answer to 问题是否解决 in the 回访."""

    RESOLVED = "resolved"
    PARTIAL = "partial"
    UNRESOLVED = "unresolved"


class Appeal(enum.StrEnum):
    """What a report asks for (诉求类型), as the extractor reads it (`nlp.INTENTS`)."""

    COMPLAINT = "投诉"
    HELP = "求助"
    QUESTION = "咨询"
    SUGGESTION = "建议"
    PRAISE = "表扬"
    OTHER = "其他"


class AttachmentKind(enum.StrEnum):
    """What a ticket's attachment is."""

    PHOTO = "photo"  # the reporter's evidence
    LOCATION = "location"  # a map pin the reporter sent
    RESULT_PHOTO = "result_photo"  # staff's photo of the result (办结)


class PromptStatus(enum.StrEnum):
    """Where a question the bot asked about a message (is it a report?) stands."""

    OPEN = "open"
    SUBMITTED = "submitted"  # answered 登记: the message was filed
    DISMISSED = "dismissed"  # answered no
    EXPIRED = "expired"  # nobody answered in time


class PendingKind(enum.StrEnum):
    """What a person's next message (in a group: their reply to the prompt) answers."""

    RESOLVE_NOTE = "resolve_note"  # 办结: the result, passed on to the reporter
    RETURN_REASON = "return_reason"  # 退回: why
    REOPEN_REASON = "reopen_reason"  # 不满意: the reporter says why
    REVEAL_REASON = "reveal_reason"  # why staff want to see who reported it
    CATEGORY_TO = "category_to"  # the category staff correct it to
    ASSIGN_TO = "assign_to"  # 派单: the department
    TRANSFER_TO = "transfer_to"  # 转派: the department
    SEND_BACK_REASON = "send_back_reason"  # 退单: why
    ASSIST_WITH = "assist_with"  # 协办: the departments
    EXTEND_TO = "extend_to"  # 延期: the date
    ESCALATE_REASON = "escalate_reason"  # 提级: why


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
_DISPATCHER = frozenset({Role.DISPATCHER})
_HANDLER = frozenset({Role.STAFF, Role.DISPATCHER})
_REPORTER = frozenset({Role.REPORTER})
_SYSTEM = frozenset({Role.SYSTEM})
_ESCALATOR = frozenset({Role.STAFF, Role.SYSTEM})


def _rows(
    sources: tuple[Status, ...], action: Action, target: Status | None, roles: frozenset[Role]
) -> tuple[Transition, ...]:
    """One transition per source status; a target of None keeps the status."""
    return tuple(Transition(s, action, target or s, roles) for s in sources)


_N, _D, _A, _R, _X = (
    Status.NEW,
    Status.DISPATCHING,
    Status.ACCEPTED,
    Status.REOPENED,
    Status.EXTENDING,
)

# STAFF acts for the department holding the ticket; DISPATCHER for the dispatch chat (总平台),
# which may also handle a ticket itself (直办) and is the only one to return it to the reporter.
TRANSITIONS: tuple[Transition, ...] = (
    *_rows((_D, _N), Action.ASSIGN, Status.NEW, _DISPATCHER),
    *_rows((_N, _R), Action.ACCEPT, Status.ACCEPTED, _HANDLER),
    Transition(_D, Action.ACCEPT, Status.ACCEPTED, _DISPATCHER),
    *_rows((_N, _A, _R, _X), Action.RESOLVE, Status.RESOLVED, _HANDLER),
    Transition(_D, Action.RESOLVE, Status.RESOLVED, _DISPATCHER),
    *_rows((_D, _N, _A, _R), Action.RETURN, Status.RETURNED, _DISPATCHER),
    *_rows((_N, _A, _R), Action.TRANSFER, Status.NEW, _STAFF),
    *_rows((_N, _A, _R), Action.SEND_BACK, Status.DISPATCHING, _STAFF),
    *_rows((_A, _R), Action.ASSIST, None, _STAFF),
    *_rows((_A, _R), Action.REQUEST_EXTENSION, Status.EXTENDING, _STAFF),
    Transition(_X, Action.APPROVE_EXTENSION, Status.ACCEPTED, _DISPATCHER),
    Transition(_X, Action.REFUSE_EXTENSION, Status.ACCEPTED, _DISPATCHER),
    *_rows((_N, _A, _R, _X), Action.ESCALATE, Status.NEW, _ESCALATOR),
    *_rows((_D, _N), Action.CANCEL, Status.CANCELLED, _REPORTER),
    Transition(Status.RESOLVED, Action.RATE_OK, Status.CLOSED, _REPORTER),
    Transition(Status.RESOLVED, Action.RATE_REOPEN, Status.REOPENED, _REPORTER),
    # With several reporters, a later one's bad rating still reopens a closed ticket.
    Transition(Status.CLOSED, Action.RATE_REOPEN, Status.REOPENED, _REPORTER),
    Transition(Status.RESOLVED, Action.AUTOCLOSE, Status.CLOSED, _SYSTEM),
    # A category correction keeps the status; when the routing rules send the new category to
    # another department, the ticket moves there as after a 转派 (or back to 派单).
    *_rows((_D, _N, _A, _R), Action.RECATEGORIZE, None, _HANDLER),
    *_rows((_D, _N, _A, _R), Action.REROUTE, Status.NEW, _HANDLER),
    *_rows((_D, _N, _A, _R), Action.REROUTE_DISPATCH, Status.DISPATCHING, _HANDLER),
    *_rows((_D, _N, _A), Action.NOT_REPORT, Status.CANCELLED, _HANDLER),
)

_TABLE: dict[tuple[Status, Action], Transition] = {(t.source, t.action): t for t in TRANSITIONS}


class Timing(enum.StrEnum):
    """What an action does to a ticket's deadlines; the gate applies it with the status."""

    FIRST = "first"  # a new ticket (`gate.open_as`): its first 签收, 催办, 提级, resolve times
    KEEP = "keep"  # the deadlines stand (the sweeper's next look still follows the status)
    NEW_HOLDER = "new_holder"  # a new holder gets its own 签收 time; the resolve deadline stands
    ASK_EXTENSION = "ask_extension"  # the date asked for waits for the dispatcher's decision
    EXTEND = "extend"  # an approved 延期: a fresh resolve deadline on the date asked for
    RATING = "rating"  # 办结: the rating period starts (a reminder, then auto-close)
    REOPEN = "reopen"  # 重办: a fresh resolve deadline from now


TIMINGS: dict[Action, Timing] = {
    **{a: Timing.KEEP for a in Action},
    Action.ASSIGN: Timing.NEW_HOLDER,
    Action.TRANSFER: Timing.NEW_HOLDER,
    Action.SEND_BACK: Timing.NEW_HOLDER,
    Action.ESCALATE: Timing.NEW_HOLDER,
    Action.REROUTE: Timing.NEW_HOLDER,
    Action.REROUTE_DISPATCH: Timing.NEW_HOLDER,
    Action.REQUEST_EXTENSION: Timing.ASK_EXTENSION,
    Action.APPROVE_EXTENSION: Timing.EXTEND,
    Action.RESOLVE: Timing.RATING,
    Action.RATE_REOPEN: Timing.REOPEN,
}
"""Per action, what the gate does to the deadlines (every action has a row)."""

OPEN_STATUSES = frozenset(
    {Status.NEW, Status.DISPATCHING, Status.ACCEPTED, Status.REOPENED, Status.EXTENDING}
)
"""Statuses of a ticket someone still has to handle: the sweeper chases these."""


def transition_for(status: Status, action: Action) -> Transition | None:
    """Return the legal transition for this status and action, or None."""
    return _TABLE.get((status, action))


def check_transition(status: Status, action: Action, role: Role) -> Transition:
    """Return the transition, or raise IllegalTransition / NotAllowed (message set by caller)."""
    return check_any(status, action, frozenset({role}))[0]


def check_any(status: Status, action: Action, roles: frozenset[Role]) -> tuple[Transition, Role]:
    """Return the transition and the first of `roles` it allows (STAFF before DISPATCHER)."""
    t = _TABLE.get((status, action))
    if t is None:
        raise IllegalTransition(status, action, "")
    for role in (Role.STAFF, Role.DISPATCHER, Role.REPORTER, Role.SYSTEM):
        if role in roles and role in t.roles:
            return t, role
    raise NotAllowed("")


def allowed_actions(status: Status, roles: frozenset[Role]) -> list[Action]:
    """The actions these roles may take on a ticket in this status, in table order."""
    seen: list[Action] = []
    for t in TRANSITIONS:
        if t.source == status and t.roles & roles and t.action not in seen:
            seen.append(t.action)
    return seen


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
