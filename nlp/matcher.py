"""Find every keyword occurring in a text (overlaps included): Aho-Corasick over UTF-8 bytes."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Generic, TypeVar

V = TypeVar("V")


def utf8(text: str) -> str:
    """Return text's UTF-8 bytes as a latin-1 str (one character per byte); a lone surrogate
    (possible in a str, never in a keyword) is encoded as its three bytes."""
    return text.encode("utf-8", "surrogatepass").decode("latin-1")


class Utf8Automaton(Generic[V]):
    """Aho-Corasick (pyahocorasick, C) over the UTF-8 bytes of the text.

    pyahocorasick scans a node's children linearly; over characters the root has ~600, over
    UTF-8 bytes about a dozen, so matching bytes is faster on chat messages (measured,
    docs/NLP.md). Texts are passed through utf8(); positions are byte offsets.
    """

    __slots__ = ("_automaton", "_size")

    def __init__(self, items: Iterable[tuple[str, V]]) -> None:
        import ahocorasick

        automaton = ahocorasick.Automaton()
        for key, value in items:
            if key:
                automaton.add_word(utf8(key), value)
        self._size = len(automaton)
        if self._size:
            automaton.make_automaton()
        self._automaton = automaton

    def __len__(self) -> int:
        return self._size

    def ends(self, encoded: str) -> list[tuple[int, V]]:
        """Return (offset of the last byte, value) for every keyword in utf8(text), in order of
        end; a keyword of n bytes starts at offset - n + 1."""
        if not self._size:
            return []
        return list(self._automaton.iter(encoded))

    def found_values(self, encoded: str) -> list[V]:
        """Return the value of every keyword in utf8(text), in order of end (ends() without
        the positions)."""
        if not self._size:
            return []
        return [value for _, value in self._automaton.iter(encoded)]

    def values(self) -> list[V]:
        """Return the value of every keyword (for offline tools; not on the hot path)."""
        if not self._size:
            return []
        return list(self._automaton.values())

    def iterator(self) -> Callable[[str], Iterator[object]]:
        """Return a function iterating over the matches in utf8(text), for next(f(t), None)
        on a hot path (the automaton's own iter, or an empty iterator when there are no keys).
        """
        if not self._size:
            return _nothing
        it: Callable[[str], Iterator[object]] = self._automaton.iter
        return it

    def any(self, encoded: str) -> bool:
        """True if utf8(text) contains any keyword (stops at the first)."""
        return self._size > 0 and next(self._automaton.iter(encoded), None) is not None


def _nothing(encoded: str) -> Iterator[object]:
    return iter(())
