"""Quality on ../shared/data (skipped loudly when absent). Floors guard against regressions.

The issue's targets are macro-F1 >= 0.85 (subject+text) and >= 0.80 (subject); the floors
below are what the shipped rules measure today (docs/NLP.md: 0.866 / 0.828, odd ids 0.862 /
0.827, subject recall 95.7 %) minus a small margin, so a rule edit that loses quality fails
here. Raise them as the rules improve.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from nlp import Extractor
from nlp.dataset import read_rows
from nlp.evaluate import evaluate

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"


@pytest.fixture(scope="module")
def extractor() -> Extractor:
    return Extractor.load()


def _need(name: str) -> Path:
    path = DATA / name
    if not path.exists():
        pytest.skip(f"QUALITY NOT MEASURED: {path} is missing")
    return path


def test_subject_and_text(extractor: Extractor) -> None:
    rows, labelled = read_rows(_need("dev_appeals.csv"))
    report = evaluate(extractor, rows, labelled)
    assert report["macro_f1"] >= 0.855


def test_subject_only(extractor: Extractor) -> None:
    rows, labelled = read_rows(_need("dev_appeals.csv"), ["subject"])
    report = evaluate(extractor, rows, labelled)
    assert report["macro_f1"] >= 0.82
    assert report["detection_recall"] >= 0.953


def test_held_out_half_is_no_worse_than_the_fitted_half(extractor: Extractor) -> None:
    path = _need("dev_appeals.csv")
    fitted = evaluate(extractor, *read_rows(path, ["subject"], split="even"))
    held = evaluate(extractor, *read_rows(path, ["subject"], split="odd"))
    assert held["macro_f1"] >= fitted["macro_f1"] - 0.03
    assert held["macro_f1"] >= 0.82
    held_full = evaluate(extractor, *read_rows(path, split="odd"))
    assert held_full["macro_f1"] >= 0.855  # the weights were fitted on even ids only


def test_chitchat_false_reports(extractor: Extractor) -> None:
    rows, labelled = read_rows(_need("dev_chitchat.csv"), ["text"])
    report = evaluate(extractor, rows, labelled)
    assert report["report_rate"] <= 0.01


def test_fast_exit_is_exact_on_the_data(extractor: Extractor) -> None:
    from nlp.normalize import MAX_CHARS

    chat, _ = read_rows(_need("dev_chitchat.csv"), ["text"])
    subjects, _ = read_rows(_need("dev_appeals.csv"), ["subject"])
    for row in [*chat, *subjects]:
        full = extractor._extract_full(extractor.normalise(row.text[:MAX_CHARS]))
        assert extractor.extract(row.text) == full, row.id
