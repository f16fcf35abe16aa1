"""When two reports are the same problem."""

from __future__ import annotations

import pytest

from bot.services.intake.similarity import same_problem, similarity


@pytest.mark.parametrize(
    ("a", "loc_a", "b", "loc_b", "same"),
    [
        ("光明路1号门口的路灯坏了", "光明路1号", "建设路2号门口的路灯坏了", "建设路2号", False),
        ("幸福小区3栋楼道的灯坏了", "幸福小区3栋", "3栋楼道灯不亮", "幸福小区3栋", True),
        ("楼道的灯坏了一个星期了", None, "楼道的灯坏了好几天了", None, True),
        ("楼道的灯坏了", None, "垃圾没人收", None, False),
    ],
)
def test_same_problem(a: str, loc_a: str | None, b: str, loc_b: str | None, same: bool) -> None:
    assert same_problem(a, loc_a, b, loc_b, 0.35) is same


def test_similarity_bounds() -> None:
    assert similarity("", "abc") == 0.0
    assert similarity("路灯坏了", "路灯坏了") == 1.0
