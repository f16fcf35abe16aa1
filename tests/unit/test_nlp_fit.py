"""The offline weight fit: moves weights the way the labels say, keeps signs, caps, files."""

from __future__ import annotations

import shutil
from pathlib import Path

from nlp import Extractor
from nlp.dataset import Row
from nlp.fit import features, fit, write
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
