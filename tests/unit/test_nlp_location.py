"""The place search near suffixes finds exactly what a scan of the whole text finds."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from nlp.location import compile_pattern
from nlp.rulefiles import SHIPPED_RULES, read_rules

_RULES = read_rules([SHIPPED_RULES])
PATTERN = compile_pattern(
    [e.key for e in _RULES.section("location.txt", "地名后缀")],
    [e.key for e in _RULES.section("location.txt", "楼栋后缀")],
)
# Suffixes, their look-alikes (路灯, 市场), numerals, excluded and ordinary characters.
ALPHABET = "路街村区县市镇小区栋单元号楼室层灯面场民花园幸福星光红的了在我12A3B一二〇两十,。 "


def _whole(text: str) -> list[str]:
    return [m.group() for m in PATTERN.pattern.finditer(text)]


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=ALPHABET, max_size=40))
def test_nlp_near_suffix_search_equals_full_scan(text: str) -> None:
    assert PATTERN.findall(text) == _whole(text)


def test_nlp_near_suffix_search_on_random_mixes() -> None:
    rng = random.Random(5)
    for _ in range(3000):
        text = "".join(rng.choice(ALPHABET) for _ in range(rng.randrange(1, 60)))
        assert PATTERN.findall(text) == _whole(text), text


def test_nlp_near_suffix_search_examples() -> None:
    assert PATTERN.findall("A3区星光小区5栋2单元门口垃圾") == ["A3区星光小区5栋2单元"]
    assert PATTERN.findall("我家楼下的路灯坏了") == _whole("我家楼下的路灯坏了")
