"""Button data: the one codec between the buttons services put on messages and the handlers.

Telegram gives callback data back verbatim, so anyone can send any bytes (up to 64): `decode`
returns None for anything this codec did not produce (unknown prefix, a name outside its enum,
numbers with a sign, leading zeros, non-ASCII digits or beyond the columns that store them).
The wire form is short ASCII so it always fits in Telegram's 64 bytes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.domain import Action, Rating
from bot.errors import ButtonDataError

DATA_LIMIT = 64  # bytes Telegram accepts in callback_data
ID_MAX = 2**63 - 1  # row ids are BIGINT
ROUND_MAX = 2**31 - 1  # resolution rounds are INTEGER

_NUMBER = r"(0|[1-9][0-9]{0,18})"
_NAME = r"([a-z_]{1,24})"
_CARD = re.compile(rf"t:{_NAME}:{_NUMBER}")
_RATING = re.compile(rf"r:{_NUMBER}:{_NUMBER}:{_NAME}")
_PROMPT = re.compile(rf"g:(yes|no):{_NUMBER}")
_QUESTION = re.compile(rf"p:(yes|no):{_NUMBER}")
_CATEGORY = re.compile(rf"k:{_NUMBER}:([0-9])")
_CONTACT = re.compile(rf"c:{_NUMBER}")
_CONFIDENTIAL = re.compile(rf"h:(on|off):{_NUMBER}")
_FOLLOWUP = re.compile(rf"f:{_NUMBER}:{_NUMBER}:(c:[01]|s:(?:resolved|partial|unresolved))")


@dataclass(frozen=True)
class CardPress:
    """A staff button on a ticket card: do `action` to ticket `ticket_id`."""

    action: Action
    ticket_id: int


@dataclass(frozen=True)
class RatingPress:
    """The reporter rates round `round` of ticket `ticket_id`."""

    ticket_id: int
    round: int
    score: Rating


@dataclass(frozen=True)
class PromptAnswer:
    """提交为诉求 (submit) or 不是 under a question asked in a grid group."""

    prompt_id: int
    submit: bool


@dataclass(frozen=True)
class QuestionAnswer:
    """登记 (file) or 不用了 under the bot's question in a resident's private chat."""

    prompt_id: int
    file: bool


@dataclass(frozen=True)
class CategoryPick:
    """Staff pick the `index`-th of the categories recorded for ticket `ticket_id` (0..9)."""

    ticket_id: int
    index: int


@dataclass(frozen=True)
class ContactPress:
    """联系方式 on a ticket card: ask why, then show staff who reported ticket `ticket_id`."""

    ticket_id: int


@dataclass(frozen=True)
class FollowupPress:
    """A 回访 answer for round `round` of ticket `ticket_id`: question ``c`` (承办单位是否联系过您,
    answer ``1`` or ``0``) or ``s`` (问题是否解决, a `Solved` value). The last question, 是否满意,
    is a `RatingPress`."""

    ticket_id: int
    round: int
    question: str
    answer: str


@dataclass(frozen=True)
class ConfidentialPress:
    """保密处理 (`on`) or 取消保密 under a private acknowledgement of ticket `ticket_id`."""

    ticket_id: int
    on: bool


Press = (
    CardPress
    | RatingPress
    | PromptAnswer
    | QuestionAnswer
    | CategoryPick
    | ContactPress
    | FollowupPress
    | ConfidentialPress
)


def _check(value: int, limit: int) -> int:
    if not 0 <= value <= limit:
        raise ButtonDataError(f"{value} is outside 0..{limit}")
    return value


def encode(press: Press) -> str:
    """Return the callback data for `press` (ASCII, at most 64 bytes)."""
    match press:
        case CardPress(action, ticket_id):
            data = f"t:{Action(action).value}:{_check(ticket_id, ID_MAX)}"
        case RatingPress(ticket_id, round_, score):
            data = (
                f"r:{_check(ticket_id, ID_MAX)}:{_check(round_, ROUND_MAX)}:{Rating(score).value}"
            )
        case PromptAnswer(prompt_id, submit):
            data = f"g:{'yes' if submit else 'no'}:{_check(prompt_id, ID_MAX)}"
        case QuestionAnswer(prompt_id, file):
            data = f"p:{'yes' if file else 'no'}:{_check(prompt_id, ID_MAX)}"
        case CategoryPick(ticket_id, index):
            data = f"k:{_check(ticket_id, ID_MAX)}:{_check(index, 9)}"
        case ContactPress(ticket_id):
            data = f"c:{_check(ticket_id, ID_MAX)}"
        case FollowupPress(ticket_id, round_, question, answer):
            data = f"f:{_check(ticket_id, ID_MAX)}:{_check(round_, ROUND_MAX)}:{question}:{answer}"
            if not _FOLLOWUP.fullmatch(data):
                raise ButtonDataError(f"not a 回访 answer: {press!r}")
        case ConfidentialPress(ticket_id, on):
            data = f"h:{'on' if on else 'off'}:{_check(ticket_id, ID_MAX)}"
        case _:
            raise ButtonDataError(f"not a button: {press!r}")
    if len(data.encode()) > DATA_LIMIT:
        raise ButtonDataError(f"callback data over {DATA_LIMIT} bytes: {data!r}")
    return data


_ACTIONS = {a.value: a for a in Action}
_SCORES = {r.value: r for r in Rating}


def _number(text: str, limit: int) -> int | None:
    value = int(text)
    return value if value <= limit else None


def decode(data: object) -> Press | None:
    """Return the press `data` stands for, or None when this codec did not produce it."""
    if not isinstance(data, str) or len(data) > DATA_LIMIT:
        return None
    if match := _CARD.fullmatch(data):
        name, raw_id = match.groups()
        ticket_id = _number(raw_id, ID_MAX)
        action = _ACTIONS.get(name)
        return None if ticket_id is None or action is None else CardPress(action, ticket_id)
    if match := _RATING.fullmatch(data):
        raw_id, raw_round, name = match.groups()
        ticket_id, round_ = _number(raw_id, ID_MAX), _number(raw_round, ROUND_MAX)
        score = _SCORES.get(name)
        if ticket_id is None or round_ is None or score is None:
            return None
        return RatingPress(ticket_id, round_, score)
    if match := _PROMPT.fullmatch(data):
        choice, raw_id = match.groups()
        prompt_id = _number(raw_id, ID_MAX)
        return None if prompt_id is None else PromptAnswer(prompt_id, choice == "yes")
    if match := _QUESTION.fullmatch(data):
        choice, raw_id = match.groups()
        prompt_id = _number(raw_id, ID_MAX)
        return None if prompt_id is None else QuestionAnswer(prompt_id, choice == "yes")
    if match := _CATEGORY.fullmatch(data):
        raw_id, raw_index = match.groups()
        ticket_id = _number(raw_id, ID_MAX)
        return None if ticket_id is None else CategoryPick(ticket_id, int(raw_index))
    if match := _CONTACT.fullmatch(data):
        ticket_id = _number(match.group(1), ID_MAX)
        return None if ticket_id is None else ContactPress(ticket_id)
    if match := _FOLLOWUP.fullmatch(data):
        raw_id, raw_round, pair = match.groups()
        ticket_id, round_ = _number(raw_id, ID_MAX), _number(raw_round, ROUND_MAX)
        if ticket_id is None or round_ is None:
            return None
        question, answer = pair.split(":")
        return FollowupPress(ticket_id, round_, question, answer)
    if match := _CONFIDENTIAL.fullmatch(data):
        choice, raw_id = match.groups()
        ticket_id = _number(raw_id, ID_MAX)
        return None if ticket_id is None else ConfidentialPress(ticket_id, choice == "on")
    return None


def is_card_press(data: object) -> bool:
    """Whether `data` is a staff card button (a handler pattern)."""
    return isinstance(decode(data), CardPress)


def is_contact_press(data: object) -> bool:
    """Whether `data` is a card's 联系方式 button (a handler pattern)."""
    return isinstance(decode(data), ContactPress)


def is_rating_press(data: object) -> bool:
    """Whether `data` is a rating button (a handler pattern)."""
    return isinstance(decode(data), RatingPress)


def is_followup_press(data: object) -> bool:
    """Whether `data` answers one of the first questions of a 回访 (a handler pattern)."""
    return isinstance(decode(data), FollowupPress)


def is_prompt_answer(data: object) -> bool:
    """Whether `data` is an answer to a grid-group question (a handler pattern)."""
    return isinstance(decode(data), PromptAnswer)


def is_question_answer(data: object) -> bool:
    """Whether `data` answers the bot's question in a private chat (a handler pattern)."""
    return isinstance(decode(data), QuestionAnswer)


def is_confidential_press(data: object) -> bool:
    """Whether `data` is 保密处理 / 取消保密 under an acknowledgement (a handler pattern)."""
    return isinstance(decode(data), ConfidentialPress)


def is_category_pick(data: object) -> bool:
    """Whether `data` picks a category to correct a ticket's (a handler pattern)."""
    return isinstance(decode(data), CategoryPick)
