"""The offline weight fit: moves weights the way the labels say, keeps signs, caps, files."""

from __future__ import annotations

import shutil
from pathlib import Path

from nlp import Extractor
from nlp.dataset import Row
from nlp.fit import (
    CueExample,
    cue_example,
    cue_features,
    cue_weights,
    features,
    fit,
    fit_cues,
    write,
)
from nlp.rulefiles import SHIPPED_RULES


def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "rules"
    shutil.copytree(SHIPPED_RULES, target)
    return target


def _weight(extractor: Extractor, key: str, first: str) -> float:
    info = next(i for i in extractor._compiled.automaton.values() if i.key == key)
    return sum(w for f, w in info.firsts if f == first)


def test_nlp_fit_moves_a_shared_word_towards_its_labels(tmp_path: Path) -> None:
    rules = _copy(tmp_path)
    x = Extractor.load(rules)
    before = _weight(x, "路面", "城乡建设")
    rows = [Row(str(i), "国道路面坑洼不平", "交通运输") for i in range(20)]
    fitted = fit(x, rows, negatives=["今天路面很滑哦"], epochs=30)
    assert all(w <= 3.0 for w in fitted.weights.values())
    assert all((new > 0) == (old > 0) for _, old, new in fitted.changes())
    assert write(fitted, rules) == len(fitted.changes()) > 0
    y = Extractor.load(rules)  # still valid rule files
    assert _weight(y, "路面", "城乡建设") < before
    assert y.keywords() == x.keywords()  # no keyword added or removed


def test_nlp_features_follow_the_decision(tmp_path: Path) -> None:
    x = Extractor.load()
    lead = features(x, "路灯坏了")
    body = features(x, "你好。路灯坏了")
    assert lead and set(lead) == set(body)
    assert all(abs(body[k] - 0.3 * lead[k]) < 1e-9 for k in lead)


def _cue_line(x: Extractor, key: str) -> tuple[str, int]:
    [line] = cue_features(x, key)
    return line


def test_nlp_fit_cues_moves_cues_by_report_and_chatter_within_their_bounds(
    tmp_path: Path,
) -> None:
    rules = _copy(tmp_path)
    x = Extractor.load(rules)
    before = cue_weights(x)
    broken, hope, notice = (_cue_line(x, k) for k in ("坏了", "是否", "提醒"))
    # 坏了 only in reports falling short of a ticket; 提醒 only in chatter that would be asked
    examples = [CueExample({broken: 1, hope: 1}, 1.0, True, True, 1.0) for _ in range(30)]
    examples += [CueExample({notice: 1}, 2.5, False, True, 2.0) for _ in range(30)]
    fitted = fit_cues(x, examples, ticket_at=0.7, ask_at=0.45, l2=0.0001, epochs=50)
    w = fitted.weights
    assert before[broken] < w[broken] <= 3.0 and w[notice] < before[notice]
    assert before[hope] < w[hope] < 1.0  # a weak cue (是否 0.5) stays below PROBLEM_CUE
    assert all((new > 0) == (old > 0) for _, old, new in fitted.changes())
    assert write(fitted, rules) == len(fitted.changes()) > 0
    y = Extractor.load(rules)  # cues.txt is still a valid rule file, with the new weights
    assert y.keywords() == x.keywords()
    assert cue_weights(y)[broken] == round(w[broken], 1)


def test_nlp_cue_example_reads_the_decision(tmp_path: Path) -> None:
    x = Extractor.load()
    before = cue_weights(x)
    text = "楼道的灯坏了好几天了，晚上漆黑一片"
    got = cue_example(x, text, True, 1.0, before)
    assert got is not None and got.report and got.named
    detection = got.rest + sum(before[line] * n for line, n in got.lines.items())
    e = x.extract(text)
    assert abs(detection / (detection + 2.0) - e.confidence) < 0.002
    assert cue_example(x, "不是投诉，楼道的灯坏了已经修好了", True, 1.0, before) is None
    assert cue_example(x, "明天见", False, 1.0, before) is None  # no cue
