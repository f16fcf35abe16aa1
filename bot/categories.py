"""The category tree staff may choose from, and what a category typed by staff means.

The tree is the extractor's official three-level taxonomy (``nlp/rules/taxonomy.csv``). Staff
may type a whole path (一级/二级/三级), a shorter path (一级 or 一级/二级), or one name of the
tree (市政设施); a name that fits several places is refused with the candidates.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from nlp.rulefiles import SHIPPED_RULES, TAXONOMY_FILE, load_taxonomy_paths

_SEPARATORS = str.maketrans({"／": "/", "\\": "/", ">": "/", "＞": "/", "-": "/"})


@dataclass(frozen=True, slots=True)
class Match:
    """What a typed category means: one path, or the candidates when it is ambiguous."""

    path: str | None
    candidates: tuple[str, ...] = ()


@dataclass(frozen=True)
class CategoryTree:
    """Every path of the taxonomy: leaves and their parents, joined with "/"."""

    paths: frozenset[str]

    @classmethod
    def load(cls, path: Path | None = None) -> CategoryTree:
        """Read the taxonomy (一级分类,二级分类,三级分类, through the rule files' own reader)
        with every shorter path above its rows."""
        paths: set[str] = set()
        for row in load_taxonomy_paths(path or SHIPPED_RULES / TAXONOMY_FILE):
            parts = row.split("/")
            for depth in range(1, len(parts) + 1):
                paths.add("/".join(parts[:depth]))
        return cls(frozenset(paths))

    def find(self, text: str) -> Match:
        """Return the path a person means by `text` (a path or one name of the tree)."""
        wanted = "/".join(p.strip() for p in text.translate(_SEPARATORS).split("/") if p.strip())
        if not wanted:
            return Match(None)
        if wanted in self.paths:
            return Match(wanted)
        named = sorted(p for p in self.paths if p == wanted or p.endswith("/" + wanted))
        if not named:
            named = sorted(p for p in self.paths if wanted in _leaf(p))
        if len(named) == 1:
            return Match(named[0])
        return Match(None, tuple(named))


def _leaf(path: str) -> str:
    return path.rsplit("/", 1)[-1]


@cache
def shipped_tree() -> CategoryTree:
    """The shipped taxonomy, read once."""
    return CategoryTree.load()
