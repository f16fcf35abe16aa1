"""Nothing but the gate changes a ticket's status or writes its audit trail (read from source)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GATE = ROOT / "bot" / "services" / "gate.py"
# `x.status = …` that is not a ticket's: (file, the name of x).
NOT_TICKETS = {
    ("bot/errors.py", "self"),
    ("bot/services/intake/group_prompts.py", "prompt"),
    ("bot/services/intake/private_prompts.py", "prompt"),
}


def _sources() -> list[Path]:
    return [p for d in ("bot", "handlers") for p in sorted((ROOT / d).rglob("*.py")) if p != GATE]


def _offences(rel: str, source: str) -> list[str]:
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets = [node.target]
        for t in targets:
            if isinstance(t, ast.Attribute) and t.attr == "status":
                owner = t.value.id if isinstance(t.value, ast.Name) else ast.unparse(t.value)
                if (rel, owner) not in NOT_TICKETS:
                    found.append(f"{rel}:{node.lineno} sets {owner}.status by hand")
        if isinstance(node, ast.Call):
            name = ast.unparse(node.func)
            if name == "Ticket" and any(k.arg == "status" for k in node.keywords):
                found.append(f"{rel}:{node.lineno} creates a Ticket with a status by hand")
            if name == "TicketEvent":
                found.append(f"{rel}:{node.lineno} writes an audit row outside the gate")
            if name == "setattr" and len(node.args) > 1:
                arg = node.args[1]
                if isinstance(arg, ast.Constant) and arg.value == "status":
                    found.append(f"{rel}:{node.lineno} sets a status through setattr")
            bulk = name.endswith(".values") and "update(Ticket)" in ast.unparse(node)
            if bulk and any(k.arg == "status" for k in node.keywords):
                found.append(f"{rel}:{node.lineno} updates tickets' status in bulk")
    return found


def test_only_the_gate_changes_a_status_or_writes_an_event() -> None:
    offences = [
        o
        for p in _sources()
        for o in _offences(p.relative_to(ROOT).as_posix(), p.read_text(encoding="utf-8"))
    ]
    assert not offences, "\n".join(offences)


def test_the_check_catches_each_way_round_the_gate() -> None:
    source = (
        "def f(ticket, t, s):\n"
        "    ticket.status = 'closed'\n"
        "    t.status += ''\n"
        "    s.add(Ticket(number='1', status='new'))\n"
        "    s.add(TicketEvent(action='x'))\n"
        "    setattr(ticket, 'status', 'closed')\n"
        "    update(Ticket).values(status='closed')\n"
    )
    assert sorted(_offences("bot/x.py", source)) == [
        "bot/x.py:2 sets ticket.status by hand",
        "bot/x.py:3 sets t.status by hand",
        "bot/x.py:4 creates a Ticket with a status by hand",
        "bot/x.py:5 writes an audit row outside the gate",
        "bot/x.py:6 sets a status through setattr",
        "bot/x.py:7 updates tickets' status in bulk",
    ]


# A ticket's deadlines: the gate sets them with the status (each action's `Timing`, and the
# first ones when a ticket is filed), through bot.services.supervision.supervision; the sweeper
# marks its own steps (督办, the top reached).
DEADLINES = {
    "accept_by",
    "deadline_at",
    "remind_at",
    "escalate_at",
    "extension_to",
    "base_deadline_at",
    "resolved_at",
}
RESCHEDULERS = {"first", "plan", "restart_acceptance", "start_rating_period"}
MAY_RESCHEDULE = {
    "bot/services/supervision/supervision.py",  # what the gate calls
    "bot/services/supervision/sweeper.py",  # only `escalate_at = None`: nothing above the top
}


def _reschedules(rel: str, source: str) -> list[str]:
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets = [node.target]
        for t in targets:
            if isinstance(t, ast.Attribute) and t.attr in DEADLINES and rel not in MAY_RESCHEDULE:
                found.append(f"{rel}:{node.lineno} sets {t.attr} by hand")
        if not isinstance(node, ast.Call):
            continue
        if ast.unparse(node.func) == "Ticket" and any(k.arg in DEADLINES for k in node.keywords):
            found.append(f"{rel}:{node.lineno} creates a Ticket with deadlines by hand")
        if not isinstance(node.func, ast.Attribute):
            continue
        owner, method = ast.unparse(node.func.value), node.func.attr
        if method in RESCHEDULERS and owner == "supervision":
            found.append(f"{rel}:{node.lineno} reschedules outside the gate")
        if method == "deadlines" and owner.endswith("policy") and rel not in MAY_RESCHEDULE:
            found.append(f"{rel}:{node.lineno} computes a ticket's deadlines outside the gate")
    return found


def test_only_the_gate_reschedules_a_tickets_deadlines() -> None:
    offences = [
        o
        for p in _sources()
        for o in _reschedules(p.relative_to(ROOT).as_posix(), p.read_text(encoding="utf-8"))
    ]
    assert not offences, "\n".join(offences)


def test_the_deadline_check_catches_each_way_round_the_gate() -> None:
    source = (
        "def f(ticket, services, now):\n"
        "    ticket.deadline_at = now\n"
        "    ticket.extension_to = None\n"
        "    supervision.plan(ticket, services.policy, services.calendar, start=now)\n"
        "    supervision.restart_acceptance(ticket, services.policy, services.calendar, now)\n"
        "    supervision.first(ticket, services.policy, services.calendar, now)\n"
        "    times = services.policy.deadlines(now, '投诉', '一般', services.calendar)\n"
        "    s.add(Ticket(number='1', accept_by=times.accept_by))\n"
    )
    assert sorted(_reschedules("bot/x.py", source)) == [
        "bot/x.py:2 sets deadline_at by hand",
        "bot/x.py:3 sets extension_to by hand",
        "bot/x.py:4 reschedules outside the gate",
        "bot/x.py:5 reschedules outside the gate",
        "bot/x.py:6 reschedules outside the gate",
        "bot/x.py:7 computes a ticket's deadlines outside the gate",
        "bot/x.py:8 creates a Ticket with deadlines by hand",
    ]
