"""The 回访 message: three questions, one tap each, shown in one message that updates in place.

Button data: ``f:<ticket>:<round>:c:<1|0>`` (contacted), ``f:<ticket>:<round>:s:<Solved>``
(solved) and ``r:<ticket>:<round>:<Rating>`` (satisfaction, the same data as the one-tap rating
buttons sent before the 回访 existed, so those old messages still work).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot import texts
from bot.domain import Rating, Solved

CONTACTED = "c"
SOLVED = "s"
SATISFACTION = "r"


@dataclass(frozen=True, slots=True)
class Answers:
    """What one reporter has answered so far in one round's 回访."""

    contacted: bool | None = None
    solved: str | None = None
    satisfaction: str | None = None

    def next_question(self) -> str | None:
        """The first unanswered question, or None once the satisfaction answer closed it."""
        if self.satisfaction is not None:
            return None
        if self.contacted is None:
            return CONTACTED
        if self.solved is None:
            return SOLVED
        return SATISFACTION


def progress(answers: Answers) -> str:
    """The questions answered so far and the one being asked, one per line."""
    lines = []
    shown: list[tuple[str, str | None]] = [
        (
            texts.FOLLOWUP_CONTACTED,
            None if answers.contacted is None else texts.CONTACTED_NAMES[answers.contacted],
        ),
        (
            texts.FOLLOWUP_SOLVED,
            None if answers.solved is None else texts.SOLVED_NAMES[answers.solved],
        ),
        (
            texts.FOLLOWUP_SATISFIED,
            None if answers.satisfaction is None else texts.RATING_NAMES[answers.satisfaction],
        ),
    ]
    order = [CONTACTED, SOLVED, SATISFACTION]
    asking = answers.next_question()
    for n, ((question, answer), key) in enumerate(zip(shown, order, strict=True), start=1):
        if answer is None and key != asking:
            continue
        lines.append(
            texts.FOLLOWUP_LINE.format(
                n=n,
                question=question,
                answer="" if answer is None else texts.FOLLOWUP_ANSWER.format(answer=answer),
            )
        )
    return "\n".join(lines)


def keyboard(ticket_id: int, round_: int, answers: Answers) -> dict[str, Any] | None:
    """The buttons of the next unanswered question (None when the 回访 is over)."""
    asking = answers.next_question()
    if asking is None:
        return None
    prefix = f"{ticket_id}:{round_}"

    def button(label: str, data: str) -> dict[str, str]:
        return {"text": label, "callback_data": data}

    if asking == CONTACTED:
        row = [
            button(texts.CONTACTED_NAMES[True], f"f:{prefix}:c:1"),
            button(texts.CONTACTED_NAMES[False], f"f:{prefix}:c:0"),
        ]
    elif asking == SOLVED:
        row = [button(texts.SOLVED_NAMES[s], f"f:{prefix}:s:{s.value}") for s in Solved]
    else:
        row = [
            button(texts.RATING_NAMES[r], f"r:{prefix}:{r.value}")
            for r in (Rating.SATISFIED, Rating.BASIC, Rating.DISSATISFIED)
        ]
    return {"inline_keyboard": [row]}


def message(number: str, note: str, answers: Answers) -> str:
    """The resolution notice with the 回访 as far as it has gone."""
    return texts.NOTIFY_RESOLVED.format(number=number, note=note) + "\n" + progress(answers)
