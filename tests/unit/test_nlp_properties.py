"""Property tests: no input crashes the extractor, and outputs stay within the contract."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nlp import INTENTS, Extractor

_EXTRACTOR = Extractor.load()

chinese = st.text(
    alphabet=st.sampled_from(list("路灯坏了小区垃圾着火漏气工资请问吗不是投诉已经修好3栋单元A区村")),
    max_size=200,
)


def _check(text: str) -> None:
    got = _EXTRACTOR.extract(text)
    assert isinstance(got.is_report, bool)
    assert got.intent in INTENTS
    assert got.urgency in ("紧急", "一般")
    assert 0.0 <= got.confidence <= 1.0
    assert all(isinstance(part, str) and part for part in got.category)
    assert got.location is None or isinstance(got.location, str)
    assert all("error" not in line for line in got.explanation), got.explanation


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=500))
def test_any_unicode_text(text: str) -> None:
    _check(text)


@settings(max_examples=300, deadline=None)
@given(chinese)
def test_keyword_dense_text(text: str) -> None:
    _check(text)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=300))
def test_decoded_binary(blob: bytes) -> None:
    _check(blob.decode("utf-8", errors="surrogateescape"))
    _check(blob.decode("latin-1"))


@pytest.mark.parametrize(
    "text",
    ["", " ", "\x00\x01\x02", "\ud800", "👍", "😀" * 2000, "你好", "谢谢", "谢谢！👍",
     "\u200b\ufeff"],
)
def test_empty_like_inputs_are_not_reports(text: str) -> None:
    assert _EXTRACTOR.extract(text).is_report is False


@pytest.mark.parametrize(
    "text",
    [
        ("着火漏气路灯垃圾噪音工资" * 400)[:4096],
        ("幸福小区3栋2单元A1区红星村" * 300)[:4096],
        ("路街村区市县" * 700)[:4096],
        "请问" + "停水" * 2046 + "吗",
        "路灯坏了" * 16384,
    ],
)
def test_pathological_inputs_are_decided(text: str) -> None:
    # how fast is measured in bench/bench_nlp.py (docs/BENCHMARKS.md), never asserted here
    _check(text)


def test_every_keyword_in_one_message_is_decided() -> None:
    _check("".join(sorted(_EXTRACTOR.keywords(), reverse=True)))


# The chit-chat fast exit must be exact: extract() equals the full path on every input.
mixed = st.text(
    alphabet=st.sampled_from(
        list("路灯坏了小区垃圾谢谢应该请问吗樓燈壞，！？。 ～😀\u200bＡ４Sa3栋@http:/.")
    ),
    max_size=60,
)


def _full_path(text: str) -> object:
    from nlp.normalize import MAX_CHARS

    text = text[:MAX_CHARS]
    return _EXTRACTOR._or_small_talk(text, _EXTRACTOR._extract_full(_EXTRACTOR.normalise(text)))


@settings(max_examples=400, deadline=None)
@given(st.one_of(mixed, st.text(max_size=80)))
def test_fast_exit_equals_full_path(text: str) -> None:
    assert _EXTRACTOR.extract(text) == _full_path(text)


_spaces = st.text(alphabet=" \t\n\x1c\x85\xa0\u2028\u3000甲", max_size=8)


@settings(max_examples=500, deadline=None)
@given(st.one_of(mixed, st.text(max_size=40), _spaces))
def test_plain_normalisation_equals_full_normalisation(text: str) -> None:
    norm = _EXTRACTOR._normalise
    if norm.is_plain(text):
        assert norm.plain(text) == norm(text)


# The one-keyword results decided at load time (KeyInfo.solo) must equal the full decision.
_KEYS = sorted(_EXTRACTOR.keywords())
_SHAPES = ["{}", "。{}", "甲{}", "{}吗", "{}?", "{}？", "请{}吗？", "甲。{}吗", "{}。乙",
           "{}吗。~", "？{}", "{}{}", "{}。{}", "{} 吗 !", "{}吧?", "{}呢"]


def test_solo_results_equal_full_path_for_every_keyword() -> None:
    for key in _KEYS:
        for shape in _SHAPES:
            text = shape.format(key, key)
            assert _EXTRACTOR.extract(text) == _full_path(text), text


_one_keyword = st.builds(
    lambda a, k, b: a + k + b,
    st.text(alphabet=st.sampled_from(list("甲乙。，！？?吗呢 ~…的了")), max_size=6),
    st.sampled_from(_KEYS),
    st.text(alphabet=st.sampled_from(list("甲乙。，！？?吗呢 ~…的了")), max_size=6),
)


@settings(max_examples=600, deadline=None)
@given(st.one_of(_one_keyword, mixed))
def test_solo_exit_equals_full_path(text: str) -> None:
    assert _EXTRACTOR.extract(text) == _full_path(text)


def test_gate_holds_every_character_normalising_changes() -> None:
    norm = _EXTRACTOR._normalise
    every = "".join(map(chr, range(0x110000)))
    assert norm.special_chars == frozenset(norm._special.findall(every))


@pytest.mark.parametrize("noise", ["\ud800", "\udfff", "\x00", "\u200b", "😀", "Ａ"])
def test_noise_characters_take_the_normalising_path(noise: str) -> None:
    text = f"幸福小区3栋路灯坏了{noise}一个星期没人修"
    got = _EXTRACTOR.extract(text)
    assert got == _full_path(text) and got.is_report
    assert all("error" not in line for line in got.explanation)
    assert not _EXTRACTOR.extract(f"今天{noise}天气不错").is_report
