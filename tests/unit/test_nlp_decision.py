"""The bot's three-way decision (ticket / ask / silent) per channel, and next best categories."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nlp import GROUP_ASK_AT, GROUP_TICKET_AT, Decision, Extraction, Extractor, decide
from nlp.model import NOT_A_REPORT

_EXTRACTOR = Extractor.load()
_CAT = ("城乡建设", "城市建设和市政管理", "路灯")


def _x(is_report: bool, confidence: float, category: tuple[str, ...] = _CAT) -> Extraction:
    return replace(NOT_A_REPORT, is_report=is_report, confidence=confidence, category=category)


@pytest.mark.parametrize(
    ("extraction", "expected"),
    [
        (_x(True, GROUP_TICKET_AT), Decision.TICKET),
        (_x(True, 0.9), Decision.TICKET),
        (_x(True, 0.6), Decision.ASK),
        (_x(False, 0.99 - GROUP_ASK_AT), Decision.ASK),  # report score just above ask_at
        (_x(False, 0.5, ()), Decision.SILENT),  # no category: nothing to ask about
        (_x(False, 0.9), Decision.SILENT),  # report score 0.1
        (NOT_A_REPORT, Decision.SILENT),
    ],
)
def test_group_decision_by_thresholds(extraction: Extraction, expected: Decision) -> None:
    assert decide(extraction, "group") == expected


def test_group_thresholds_are_settable() -> None:
    x = _x(True, 0.6)
    assert decide(x, "group", ticket_at=0.55) == Decision.TICKET
    assert decide(x, "group", ticket_at=0.9, ask_at=0.7) == Decision.SILENT


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("你好", Decision.SILENT),
        ("您好！在吗？", Decision.SILENT),
        ("谢谢师傅👍👍", Decision.SILENT),
        ("[玫瑰][玫瑰]", Decision.SILENT),
        ("😀", Decision.SILENT),
        ("", Decision.SILENT),
        ("   ", Decision.SILENT),
        ("好的 收到", Decision.SILENT),
        ("楼下有股怪味", Decision.ASK),  # substance, not clearly a report
        ("我家那个东西又不行了", Decision.ASK),
        ("你好，我想说个事", Decision.ASK),
        ("红星小区3栋电梯旁边着火了！", Decision.TICKET),
    ],
)
def test_private_never_turns_substance_away(text: str, expected: Decision) -> None:
    assert decide(_EXTRACTOR.extract(text), "private") == expected


def test_unknown_channel_is_refused() -> None:
    with pytest.raises(ValueError, match="channel"):
        decide(NOT_A_REPORT, "channel")


def test_decision_values_are_plain_strings() -> None:
    assert [d.value for d in Decision] == ["ticket", "ask", "silent"]
    assert Decision.ASK == "ask"


def test_alternatives_are_other_leaf_paths() -> None:
    got = _EXTRACTOR.extract("小区门口的下水道堵了，污水流得到处都是，物业也不管")
    assert got.category
    assert 0 < len(got.alternatives) <= 2
    assert got.category not in got.alternatives
    assert len(set(got.alternatives)) == len(got.alternatives)
    assert got.as_dict()["alternatives"] == ["/".join(p) for p in got.alternatives]


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=120))
def test_private_decision_is_total_and_small_talk_is_never_a_report(text: str) -> None:
    got = _EXTRACTOR.extract(text)
    assert decide(got, "private") in Decision
    assert decide(got, "group") in Decision
    assert not (got.small_talk and got.is_report)
    assert len(got.alternatives) <= 2


@pytest.mark.parametrize(
    "text",
    [
        "我家猫把电梯按钮弄坏了 哈哈",
        "哈哈 楼道的灯坏了好几天 我家娃说像鬼屋",
        "通知：楼道灯坏了的那几层 明天统一更换",
    ],
)
def test_problem_word_in_passing_is_never_a_group_ticket(text: str) -> None:
    """A talk marker next to a problem word: the topic counts as talk, and says so."""
    e = _EXTRACTOR.extract(text)
    assert decide(e, "group") != Decision.TICKET
    assert any("in passing" in line for line in e.explanation)


@pytest.mark.parametrize(
    "text",
    [
        "电梯按钮坏了 物业赶紧修一下",
        "楼道的灯坏了好几天 物业也不来修",
        "楼下垃圾桶满地垃圾 到处都是 还没人清",
    ],
)
def test_problem_raised_is_a_group_ticket(text: str) -> None:
    e = _EXTRACTOR.extract(text)
    assert decide(e, "group") == Decision.TICKET
    assert not any("in passing" in line for line in e.explanation)
