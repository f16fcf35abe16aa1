"""How alike two reports are: character bigrams, the way residents retell the same problem."""

from __future__ import annotations

import unicodedata


def bigrams(text: str) -> frozenset[str]:
    """Character bigrams of the letters and digits in `text` (case-folded)."""
    kept = "".join(c for c in text.casefold() if unicodedata.category(c)[0] in "LN")
    return frozenset(kept[i : i + 2] for i in range(len(kept) - 1))


def similarity(a: str, b: str) -> float:
    """Jaccard similarity of the two texts' bigrams, 0..1."""
    x, y = bigrams(a), bigrams(b)
    if not x or not y:
        return 0.0
    return len(x & y) / len(x | y)


def same_problem(
    text_a: str, location_a: str | None, text_b: str, location_b: str | None, threshold: float
) -> bool:
    """Tell whether two reports of one category describe the same problem.

    Two places named: the same place is the same problem, different places never are.
    Otherwise the wording decides.
    """
    if location_a and location_b:
        return location_a == location_b
    return similarity(text_a, text_b) >= threshold
