"""Find every keyword occurring in a text (overlaps included) with a dict-of-dicts trie.

pyahocorasick scans a node's children linearly; with ~600 distinct first characters at the
root that costs ~0.4 µs per character (measured, docs/NLP.md). A trie of dicts does one hash
lookup per character instead, which is faster for chat-length messages.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Generic, TypeVar

V = TypeVar("V")
_END = ""  # a key no text character can equal


class KeywordTrie(Generic[V]):
    """An immutable set of keywords with a value each; find() lists all occurrences."""

    __slots__ = ("_root", "_size")

    def __init__(self, items: Iterable[tuple[str, V]]) -> None:
        root: dict[str, Any] = {}
        size = 0
        for key, value in items:
            if not key:
                continue
            node = root
            for ch in key:
                node = node.setdefault(ch, {})
            if _END not in node:
                size += 1
            node[_END] = value
        self._root = root
        self._size = size

    def __len__(self) -> int:
        return self._size

    def find(self, text: str) -> list[tuple[int, V]]:
        """Return (start index, value) for every keyword occurrence, in text order."""
        root = self._root
        out: list[tuple[int, V]] = []
        n = len(text)
        for i, ch in enumerate(text):
            node = root.get(ch)
            j = i + 1
            while node is not None:
                value = node.get(_END)
                if value is not None:
                    out.append((i, value))
                if j >= n:
                    break
                node = node.get(text[j])
                j += 1
        return out
