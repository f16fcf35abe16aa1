"""The 回访 message: three questions, one tap each, shown in one message that updates in place.

Buttons: a `FollowupPress` for 承办单位是否联系过您 and 问题是否解决, a `RatingPress` for 是否满意
(the same button as the one-tap rating sent before the 回访 existed, so old messages still work).
"""

from __future__ import annotations

from dataclasses import dataclass

from bot import texts
from bot.buttons import FollowupPress, RatingPress
from bot.domain import Rating, Solved
from bot.intents import Key, Keyboard
from bot.intents import keyboard as keyboard_of

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


def keyboard(ticket_id: int, round_: int, answers: Answers) -> Keyboard:
    """The buttons of the next unanswered question (none when the 回访 is over)."""
    asking = answers.next_question()
    if asking is None:
        return ()
    if asking == CONTACTED:
        row = [
            Key(texts.CONTACTED_NAMES[yes], FollowupPress(ticket_id, round_, CONTACTED, flag))
            for yes, flag in ((True, "1"), (False, "0"))
        ]
    elif asking == SOLVED:
        row = [
            Key(texts.SOLVED_NAMES[s], FollowupPress(ticket_id, round_, SOLVED, s.value))
            for s in Solved
        ]
    else:
        row = [
            Key(texts.RATING_NAMES[r], RatingPress(ticket_id, round_, r))
            for r in (Rating.SATISFIED, Rating.BASIC, Rating.DISSATISFIED)
        ]
    return keyboard_of(row)


def message(number: str, note: str, answers: Answers) -> str:
    """The resolution notice with the 回访 as far as it has gone."""
    return texts.NOTIFY_RESOLVED.format(number=number, note=note) + "\n" + progress(answers)
