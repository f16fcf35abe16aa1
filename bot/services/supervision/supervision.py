"""When the sweeper must next look at a ticket, kept on the ticket row (the database is the truth).

Open tickets go through 催办 (``remind_at``) → 督办 (at ``deadline_at``, the ticket is flagged
overdue) → 提级 (``escalate_at``, again every escalation period while still overdue).
A resolved ticket reuses ``remind_at`` for the rating reminder and ``escalate_at`` for the
auto-close as 未评价. ``supervision`` counts the steps done: 0 nothing yet, 1 reminded,
2 overdue. ``schedule`` turns that into ``due_kind`` and ``next_due_at``, which the sweeper
finds through an index.
"""

from __future__ import annotations

from datetime import datetime

from bot.deadlines import DeadlinePolicy
from bot.domain import OPEN_STATUSES, DueKind, Status
from bot.workdays import WorkCalendar
from storage.models import Ticket

REMIND = DueKind.REMIND
OVERDUE = DueKind.OVERDUE
ESCALATE = DueKind.ESCALATE
RATE_REMIND = DueKind.RATE_REMIND
AUTOCLOSE = DueKind.AUTOCLOSE


def schedule(ticket: Ticket) -> None:
    """Set the ticket's next sweeper step from its status and the steps already done."""
    kind: DueKind | None = None
    at: datetime | None = None
    status = Status(ticket.status)
    if status in OPEN_STATUSES:
        if ticket.supervision <= 0 and ticket.remind_at is not None:
            kind, at = REMIND, ticket.remind_at
        elif ticket.supervision <= 1:
            kind, at = OVERDUE, ticket.deadline_at
        elif ticket.escalate_at is not None:
            kind, at = ESCALATE, ticket.escalate_at
    elif status == Status.RESOLVED:
        if ticket.supervision <= 0 and ticket.remind_at is not None:
            kind, at = RATE_REMIND, ticket.remind_at
        elif ticket.escalate_at is not None:
            kind, at = AUTOCLOSE, ticket.escalate_at
    ticket.due_kind = kind
    ticket.next_due_at = at if kind else None


def first(ticket: Ticket, policy: DeadlinePolicy, calendar: WorkCalendar, at: datetime) -> None:
    """Give a ticket filed at ``at`` its first deadlines, by the rule for its kind and urgency."""
    times = policy.deadlines(at, ticket.intent, ticket.urgency, calendar)
    ticket.accept_by = times.accept_by
    ticket.deadline_at = times.resolve_by
    ticket.base_deadline_at = times.resolve_by
    ticket.remind_at = times.remind_at
    ticket.escalate_at = times.escalate_at


def plan(
    ticket: Ticket,
    policy: DeadlinePolicy,
    calendar: WorkCalendar,
    *,
    start: datetime,
    resolve_by: datetime,
) -> None:
    """Give the ticket a fresh resolve deadline from ``start``: new 签收, 催办 and 提级 times,
    nothing sent yet and no longer overdue (重办, an approved 延期)."""
    rule = policy.rule(ticket.intent, ticket.urgency)
    times = policy.around(start, resolve_by, rule, calendar)
    ticket.accept_by = times.accept_by
    ticket.deadline_at = times.resolve_by
    ticket.remind_at = times.remind_at
    ticket.escalate_at = times.escalate_at
    ticket.overdue_at = None
    ticket.supervision = 0


def restart_acceptance(
    ticket: Ticket, policy: DeadlinePolicy, calendar: WorkCalendar, now: datetime
) -> None:
    """A new holder (派单, 转派, 提级) gets its own 签收 time; the resolve deadline stands."""
    rule = policy.rule(ticket.intent, ticket.urgency)
    ticket.accept_by = rule.accept_within.after(now, calendar)
    if ticket.overdue_at is not None:
        # Already overdue: the next escalation is one escalation period from now.
        ticket.escalate_at = rule.escalate_after.after(now, calendar)


def start_rating_period(ticket: Ticket, policy: DeadlinePolicy, resolved_at: datetime) -> None:
    """A resolution starts the rating period: a reminder, then auto-close as 未评价."""
    ticket.resolved_at = resolved_at
    ticket.remind_at = policy.rating_reminder_at(resolved_at)
    ticket.escalate_at = policy.rating_autoclose_at(resolved_at)
    ticket.supervision = 0
