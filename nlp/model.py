"""The result type of the extractor and the fixed vocabularies it uses."""

from __future__ import annotations

from dataclasses import dataclass

INTENTS: tuple[str, ...] = ("投诉", "求助", "咨询", "建议", "表扬", "其他")
URGENT = "紧急"
NORMAL = "一般"
NO_CATEGORY_LABEL = "其他"


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
    explanation: tuple[str, ...]

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
