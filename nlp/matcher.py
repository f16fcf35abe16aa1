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


def utf8(text: str) -> str:
    """Return text's UTF-8 bytes as a latin-1 str (one character per byte)."""
    return text.encode("utf-8").decode("latin-1")


class Utf8Automaton(Generic[V]):
    """Aho-Corasick (pyahocorasick, C) over the UTF-8 bytes of the text.

    pyahocorasick scans a node's children linearly; over characters the root has ~600, over
    UTF-8 bytes about a dozen, so matching bytes is ~2× faster on chat messages (measured,
    docs/NLP.md). Texts are passed through utf8(); positions are byte offsets.
    """

    __slots__ = ("_automaton", "_size")

    def __init__(self, items: Iterable[tuple[str, V]]) -> None:
        import ahocorasick

        automaton = ahocorasick.Automaton()
        for key, value in items:
            if key:
                encoded = utf8(key)
                automaton.add_word(encoded, (len(encoded) - 1, value))
        self._size = len(automaton)
        if self._size:
            automaton.make_automaton()
        self._automaton = automaton

    def __len__(self) -> int:
        return self._size

    def find(self, encoded: str) -> list[tuple[int, V]]:
        """Return (byte start, value) for every keyword in utf8(text), in order of end."""
        if not self._size:
            return []
        return [(end - back, value) for end, (back, value) in self._automaton.iter(encoded)]

    def any(self, encoded: str) -> bool:
        """True if utf8(text) contains any keyword (stops at the first)."""
        return self._size > 0 and next(self._automaton.iter(encoded), None) is not None
