"""Figures on messages as residents write them (the dev_colloquial format): what the bot
would do in a grid group and in a private chat, the category it would file and the urgency.

A file in this format has the columns id, channel (group | private), kind (report | chatter
| borderline), text, and for reports category (一级/二级/三级), intent and urgency (紧急 |
一般). Corrections exported from the database use the same columns.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nlp.dataset import _in_split
from nlp.decision import GROUP_ASK_AT, GROUP_TICKET_AT, Decision, decide
from nlp.evaluate import _classification
from nlp.model import URGENT, Extraction

REQUIRED_COLUMNS = ("channel", "kind", "text")
KINDS = ("report", "chatter", "borderline")
OTHER = "其他"


@dataclass(frozen=True, slots=True)
class Message:
    """One labelled message as a resident wrote it."""

    id: str
    channel: str
    kind: str
    text: str
    category: tuple[str, ...] = ()
    intent: str = ""
    urgency: str = ""


def is_dialogue_file(path: Path) -> bool:
    """True if the CSV has the channel and kind columns of the dev_colloquial format."""
    with path.open(encoding="utf-8-sig", newline="") as f:
        header = next(csv.reader(f), [])
    return all(c in header for c in REQUIRED_COLUMNS)


def read_messages(path: Path, split: str | None = None) -> list[Message]:
    """Read a dev_colloquial-format CSV; raises ValueError naming a bad row."""
    out: list[Message] = []
    with path.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path}: missing column(s) {missing}")
        for number, rec in enumerate(reader, start=2):
            row_id = (rec.get("id") or "").strip() or str(number)
            if split and not _in_split(row_id, number, split):
                continue
            kind = (rec.get("kind") or "").strip()
            channel = (rec.get("channel") or "").strip() or "group"
            if kind not in KINDS:
                raise ValueError(f"{path}:{number}: kind must be one of {KINDS}, not {kind!r}")
            if channel not in ("group", "private"):
                raise ValueError(f"{path}:{number}: channel must be group or private")
            category = tuple(p for p in (rec.get("category") or "").strip().split("/") if p)
            out.append(Message(
                row_id, channel, kind, rec.get("text") or "", category,
                (rec.get("intent") or "").strip(), (rec.get("urgency") or "").strip(),
            ))
    return out


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def evaluate_messages(
    extract: Callable[[str], Extraction],
    messages: Sequence[Message],
    ticket_at: float = GROUP_TICKET_AT,
    ask_at: float = GROUP_ASK_AT,
) -> dict[str, Any]:
    """The issue-9 figures under fixed keys, plus the borderline rows and the misses."""
    got = [extract(m.text) for m in messages]
    decided = [
        decide(x, m.channel, ticket_at=ticket_at, ask_at=ask_at)
        for m, x in zip(messages, got, strict=True)
    ]
    counts: Counter[tuple[str, str, Decision]] = Counter(
        (m.channel, m.kind, d) for m, d in zip(messages, decided, strict=True)
    )

    def n(channel: str, kind: str, *ds: Decision) -> int:
        return sum(counts[(channel, kind, d)] for d in ds or tuple(Decision))

    t, a = Decision.TICKET, Decision.ASK
    report: dict[str, Any] = {
        "n": len(messages),
        "group.chatter_ticket_rate": _rate(n("group", "chatter", t), n("group", "chatter")),
        "group.chatter_prompt_rate": _rate(n("group", "chatter", a), n("group", "chatter")),
        "group.report_caught_rate": _rate(n("group", "report", t, a), n("group", "report")),
        "group.report_ticket_rate": _rate(n("group", "report", t), n("group", "report")),
        "group.report_ticket_share_of_caught": _rate(
            n("group", "report", t), n("group", "report", t, a)
        ),
        "private.report_caught_rate": _rate(n("private", "report", t, a), n("private", "report")),
        "private.report_ticket_rate": _rate(n("private", "report", t), n("private", "report")),
        "private.chatter_ticket_rate": _rate(n("private", "chatter", t), n("private", "chatter")),
    }
    reports = [(m, x) for m, x in zip(messages, got, strict=True) if m.kind == "report"]
    labelled = [(m, x) for m, x in reports if m.category]
    pairs = [(m.category[0], x.category[0] if x.category else OTHER) for m, x in labelled]
    classes = _classification(pairs) if pairs else {}
    top1 = sum(1 for m, x in labelled if x.category == m.category)
    top3 = sum(1 for m, x in labelled if m.category in (x.category, *x.alternatives))
    urgent = [(m, x) for m, x in reports if m.urgency == URGENT]
    normal = [(m, x) for m, x in reports if m.urgency and m.urgency != URGENT]
    report.update({
        "category.macro_f1": classes.get("macro_f1") if classes else None,
        "category.first_level_accuracy": classes.get("accuracy") if classes else None,
        "category.leaf_top1": _rate(top1, len(labelled)),
        "category.leaf_top3": _rate(top3, len(labelled)),
        "urgency.recall": _rate(sum(1 for _, x in urgent if x.urgency == URGENT), len(urgent)),
        "urgency.false_rate": _rate(sum(1 for _, x in normal if x.urgency == URGENT), len(normal)),
        "intent.accuracy": _rate(
            sum(1 for m, x in reports if m.intent and x.intent == m.intent),
            sum(1 for m, _ in reports if m.intent),
        ),
    })
    for channel in ("group", "private"):
        total = n(channel, "borderline")
        if total:
            report[f"borderline.{channel}"] = {
                d.value: n(channel, "borderline", d) for d in Decision
            }
    report["per_category"] = classes.get("per_category", {})
    report["misses"] = _misses(messages, got, decided)
    return report


def _misses(
    messages: Sequence[Message], got: Sequence[Extraction], decided: Sequence[Decision]
) -> dict[str, list[str]]:
    """A few ids per kind of error, for a person to read (not part of the figures)."""
    out: dict[str, list[str]] = {
        "group_chatter_ticket": [], "group_chatter_ask": [], "group_report_silent": [],
        "group_report_ask": [], "private_report_silent": [], "wrong_first_level": [],
        "urgent_missed": [], "urgent_false": [],
    }
    for m, x, d in zip(messages, got, decided, strict=True):
        keys: list[str] = []
        if m.kind == "chatter" and m.channel == "group" and d != Decision.SILENT:
            keys.append("group_chatter_ticket" if d == Decision.TICKET else "group_chatter_ask")
        if m.kind == "report":
            if m.channel == "group" and d != Decision.TICKET:
                keys.append("group_report_silent" if d == Decision.SILENT else "group_report_ask")
            if m.channel == "private" and d == Decision.SILENT:
                keys.append("private_report_silent")
            if m.category and (not x.category or x.category[0] != m.category[0]):
                keys.append("wrong_first_level")
            if m.urgency == URGENT and x.urgency != URGENT:
                keys.append("urgent_missed")
            if m.urgency and m.urgency != URGENT and x.urgency == URGENT:
                keys.append("urgent_false")
        for k in keys:
            out[k].append(m.id)
    return out


FIXED_KEYS = (
    "group.chatter_ticket_rate", "group.chatter_prompt_rate", "group.report_caught_rate",
    "group.report_ticket_rate", "private.report_caught_rate", "category.macro_f1",
    "category.leaf_top1", "category.leaf_top3", "urgency.recall", "urgency.false_rate", "n",
)


def format_messages_report(report: dict[str, Any]) -> str:
    """Render the figures as plain text: the fixed keys first, then the borderline rows."""
    lines = []
    for key in FIXED_KEYS:
        value = report.get(key)
        shown = "n/a" if value is None else (f"{value}" if key == "n" else f"{value:.3f}")
        lines.append(f"{key:<30}{shown:>10}")
    for key, value in report.items():
        if key.startswith("borderline."):
            lines.append(f"{key:<30}{value}")
    for key, ids in report.get("misses", {}).items():
        if ids:
            lines.append(f"misses {key} ({len(ids)}): {' '.join(ids[:15])}")
    return "\n".join(lines)
