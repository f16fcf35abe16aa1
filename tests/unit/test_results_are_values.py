"""Services and handlers decide on values, never by comparing display text (read from source):
editing the Chinese copy in bot/texts.py cannot change what the bot does."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _comparisons_with_texts(rel: str, source: str) -> list[str]:
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr not in {"startswith", "endswith", "find", "index", "count"}:
                continue
            sides = list(node.args)
        else:
            continue
        if any("texts." in ast.unparse(side) for side in sides):
            found.append(f"{rel}:{node.lineno} compares with display text")
    return found


def test_no_decision_compares_display_text() -> None:
    offences = [
        o
        for d in ("bot/services", "handlers")
        for p in sorted((ROOT / d).rglob("*.py"))
        for o in _comparisons_with_texts(p.relative_to(ROOT).as_posix(), p.read_text("utf-8"))
    ]
    assert not offences, "\n".join(offences)


def test_the_check_catches_each_way_of_comparing() -> None:
    source = (
        "def f(text, answer):\n"
        "    ok = text == texts.BLOCKED_USER\n"
        "    if answer.text.startswith(texts.STAFF_ADDED[:3]):\n"
        "        pass\n"
        "    return texts.UNBOUND != text\n"
    )
    assert _comparisons_with_texts("bot/x.py", source) == [
        "bot/x.py:2 compares with display text",
        "bot/x.py:3 compares with display text",
        "bot/x.py:5 compares with display text",
    ]
