"""The result type of the extractor and the fixed vocabularies it uses."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, overload

INTENTS: tuple[str, ...] = ("投诉", "求助", "咨询", "建议", "表扬", "其他")
URGENT = "紧急"
NORMAL = "一般"
NO_CATEGORY_LABEL = "其他"


class Explanation(Sequence[str]):
    """The rules that fired, formatted when first read.

    The bot reads only the decision; `huiyin nlp explain` and the evaluation read the lines.
    Formatting them costs more than deciding a report, so the extractor keeps what it needs
    to write them and this sequence writes them on first access (then keeps them).
    """

    __slots__ = ("_args", "_build", "_lines")

    def __init__(self, build: Callable[..., tuple[str, ...]], args: tuple[Any, ...]) -> None:
        self._build: Callable[..., tuple[str, ...]] | None = build
        self._args: tuple[Any, ...] = args
        self._lines: tuple[str, ...] | None = None

    def lines(self) -> tuple[str, ...]:
        """Return the lines as a tuple, formatting them on the first call."""
        if self._lines is None:
            assert self._build is not None
            self._lines = self._build(*self._args)
            self._build, self._args = None, ()
        return self._lines

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[str]: ...
    def __getitem__(self, index: int | slice) -> str | Sequence[str]:
        return self.lines()[index]

    def __len__(self) -> int:
        return len(self.lines())

    def __iter__(self) -> Iterator[str]:
        return iter(self.lines())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Explanation):
            return self.lines() == other.lines()
        if isinstance(other, tuple):
            return self.lines() == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.lines())

    def __repr__(self) -> str:
        return repr(self.lines())


@dataclass(frozen=True, slots=True)
class Extraction:
    """What one message says: report or not, intent, category, urgency and place."""

    is_report: bool
    intent: str
    category: tuple[str, ...]
    urgency: str
    urgent_words: tuple[str, ...]
    location: str | None
    confidence: float
    explanation: Sequence[str]  # a tuple, or an Explanation formatted when read
    # the next best leaf paths after category (up to 2): (category, *alternatives) is the
    # top 3, offered to staff to correct a category with one tap
    alternatives: tuple[tuple[str, ...], ...] = ()
    # only a greeting, thanks, emoji or nothing at all: no problem could be in it
    small_talk: bool = False

    @property
    def category_label(self) -> str:
        """Return the category path joined with "/", or "其他" when there is none."""
        return "/".join(self.category) if self.category else NO_CATEGORY_LABEL

    def as_dict(self) -> dict[str, object]:
        """Return the fields as plain JSON-ready values."""
        return {
            "is_report": self.is_report,
            "intent": self.intent,
            "category": list(self.category),
            "category_label": self.category_label,
            "urgency": self.urgency,
            "urgent_words": list(self.urgent_words),
            "location": self.location,
            "confidence": self.confidence,
            "explanation": list(self.explanation),
            "alternatives": ["/".join(p) for p in self.alternatives],
            "small_talk": self.small_talk,
        }


NOT_A_REPORT = Extraction(
    is_report=False,
    intent="其他",
    category=(),
    urgency=NORMAL,
    urgent_words=(),
    location=None,
    confidence=1.0,
    explanation=("no rule fired",),
)

SMALL_TALK = Extraction(
    is_report=False,
    intent="其他",
    category=(),
    urgency=NORMAL,
    urgent_words=(),
    location=None,
    confidence=1.0,
    explanation=("small talk: a greeting, thanks, emoji or nothing",),
    small_talk=True,
)
