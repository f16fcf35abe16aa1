"""What the bot does with one message: file a ticket, ask the author, or stay silent."""

from __future__ import annotations

import enum

from nlp.model import Extraction

GROUP_TICKET_AT = 0.7
"""Report score from which a grid-group message becomes a ticket straight away."""
GROUP_ASK_AT = 0.45
"""Report score from which a grid-group message with a category gets a one-tap question."""
CHANNELS = ("group", "private")


class Decision(enum.StrEnum):
    """The three things the bot may do with a message."""

    TICKET = "ticket"
    ASK = "ask"
    SILENT = "silent"


def report_score(extraction: Extraction) -> float:
    """How likely the message is a report, 0..1, from the decision and its confidence."""
    return extraction.confidence if extraction.is_report else 1.0 - extraction.confidence


def decide(
    extraction: Extraction,
    channel: str,
    *,
    ticket_at: float = GROUP_TICKET_AT,
    ask_at: float = GROUP_ASK_AT,
) -> Decision:
    """Decide one message heard in a "group" (grid group) or a "private" chat.

    Private: a report is filed; anything else with substance is asked about (never turned
    away); only greetings, thanks, emoji and empty messages are left to a friendly how-to
    (SILENT). Group: TICKET from ticket_at, ASK from ask_at when a category is named,
    otherwise SILENT (the group is not interrupted).
    """
    if channel == "private":
        if extraction.is_report:
            return Decision.TICKET
        return Decision.SILENT if extraction.small_talk else Decision.ASK
    if channel != "group":
        raise ValueError(f"channel must be one of {CHANNELS}, not {channel!r}")
    score = report_score(extraction)
    if score >= ticket_at:
        return Decision.TICKET
    if score >= ask_at and extraction.category:
        return Decision.ASK
    return Decision.SILENT
