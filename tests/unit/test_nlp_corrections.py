"""Labelled examples (residents' messages, staff corrections): eval figures and proposals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nlp import Extractor
from nlp.cli import main
from nlp.corrections import CUE_SECTION, checks_on, format_effects, measure, propose
from nlp.dialogue import FIXED_KEYS, Message, evaluate_messages, read_messages

_EXTRACTOR = Extractor.load()
HEADER = "id,channel,kind,text,category,intent,urgency\n"
ROWS = [
    "A1,group,report,楼下路灯坏了半个月了没人修,城乡建设/城市建设和市政管理/城市公共设施,投诉,一般",
    "A2,group,chatter,团购洗衣液 三十箱起团 有需要的私聊,,,",
    "A3,private,report,楼道里一股很浓的煤气味,城乡建设/城市建设和市政管理/燃气供应,求助,紧急",
    "A4,group,borderline,3号楼是不是停电了,,,",
    "A5,private,report,你好,城乡建设/其他/其他,投诉,一般",
]


def _file(tmp_path: Path, rows: list[str]) -> Path:
    path = tmp_path / "examples.csv"
    path.write_text(HEADER + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_eval_prints_the_fixed_keys(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["nlp", "eval", str(_file(tmp_path, ROWS)), "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert set(FIXED_KEYS) <= set(got)
    assert got["n"] == 5
    assert got["group.chatter_ticket_rate"] == 0.0
    assert got["urgency.recall"] == 1.0
    assert got["private.report_caught_rate"] == 0.5  # a bare greeting is not a report
    assert got["borderline.group"]["ticket"] + got["borderline.group"]["ask"] <= 1


def test_borderline_rows_count_in_no_figure(tmp_path: Path) -> None:
    without = evaluate_messages(_EXTRACTOR.extract, read_messages(_file(tmp_path, ROWS[:3])))
    with_b = evaluate_messages(_EXTRACTOR.extract, read_messages(_file(tmp_path, ROWS[:4])))
    for key in FIXED_KEYS:
        if key != "n":
            assert without[key] == with_b[key], key


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("A9,group,gossip,随便聊聊,,,", "kind"),
        ("A9,lobby,report,路灯坏了,,,", "channel"),
    ],
)
def test_bad_rows_are_named(tmp_path: Path, row: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        read_messages(_file(tmp_path, [row]))


def _words(text: str) -> list[str]:
    return text.split()


def test_a_word_common_to_missed_reports_is_proposed_and_measured() -> None:
    examples = [
        Message("B1", "group", "report", "楼道 咕噜兽 又 来了", ("城乡建设", "其他", "其他")),
        Message("B2", "group", "report", "楼道 咕噜兽 在 叫", ("城乡建设", "其他", "其他")),
        Message("B3", "group", "chatter", "今天 天气 真好"),
    ]
    changes = propose(_EXTRACTOR, examples, min_support=2, tokenise=_words)
    cue = next(c for c in changes if c.word == "咕噜兽" and c.section == CUE_SECTION)
    assert cue.weight > 0 and cue.why == "missed reports" and cue.support == 2
    results = measure(_EXTRACTOR, [cue], checks_on({}, examples))
    before, after = results[0][1]["examples"], results[1][1]["examples"]
    assert after["group.report_caught_rate"] > before["group.report_caught_rate"]
    text = format_effects(results)
    assert "[报告线索] 咕噜兽 1.5" in text and "examples group.report_caught_rate" in text
    assert cue.examples == ("B1", "B2") and "e.g. B1 B2" in text


def test_a_word_of_interrupting_chatter_becomes_a_chat_cue() -> None:
    examples = [
        Message(f"C{i}", "group", "chatter", f"楼道 灯 坏了 没人 修 咻咻团 {i}") for i in range(3)
    ]
    changes = propose(_EXTRACTOR, examples, min_support=2, tokenise=_words)
    assert any(c.word == "咻咻团" and c.weight < 0 for c in changes)


def test_with_lines_leaves_the_original_rules_alone() -> None:
    examples = [Message("D1", "group", "report", "咕噜兽 又 来了")]
    cue = propose(_EXTRACTOR, [*examples, *examples], min_support=2, tokenise=_words)[0]
    _EXTRACTOR.with_lines([cue.entry()])
    assert "咕噜兽" not in _EXTRACTOR.keywords()
