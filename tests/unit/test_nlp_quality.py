"""Quality on ../shared/data (skipped loudly when absent). Floors guard against regressions.

Formal appeals: the issue's targets are macro-F1 >= 0.85 (subject+text) and >= 0.80
(subject); the rules measure 0.858 / 0.815 (docs/NLP.md). Since the residents' register
(issue 9) detection leans on what is wrong, not on naming an office, so formal subjects
are caught a little less often (91%); in private chat the rest get a one-tap question.
Residents' messages (dev_colloquial): floors are what the rules measure today minus a small
margin (docs/NLP.md lists them beside the issue's targets, several not reached yet).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from nlp import Extractor
from nlp.dataset import read_rows
from nlp.dialogue import evaluate_messages, read_messages
from nlp.evaluate import evaluate

# ../shared/data next to the checkout (main) or next to the worktrees' directory
DATA = next(
    (p / "shared" / "data" for p in Path(__file__).resolve().parents[3:5]
     if (p / "shared" / "data").is_dir()),
    Path(__file__).resolve().parents[3] / "shared" / "data",
)


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
    assert report["macro_f1"] >= 0.85


def test_subject_only(extractor: Extractor) -> None:
    rows, labelled = read_rows(_need("dev_appeals.csv"), ["subject"])
    report = evaluate(extractor, rows, labelled)
    assert report["macro_f1"] >= 0.80
    assert report["detection_recall"] >= 0.90


def test_held_out_half_is_no_worse_than_the_fitted_half(extractor: Extractor) -> None:
    path = _need("dev_appeals.csv")
    fitted = evaluate(extractor, *read_rows(path, ["subject"], split="even"))
    held = evaluate(extractor, *read_rows(path, ["subject"], split="odd"))
    assert held["macro_f1"] >= fitted["macro_f1"] - 0.03
    assert held["macro_f1"] >= 0.80
    held_full = evaluate(extractor, *read_rows(path, split="odd"))
    assert held_full["macro_f1"] >= 0.845  # the weights were fitted on even ids only


def test_chitchat_false_reports(extractor: Extractor) -> None:
    rows, labelled = read_rows(_need("dev_chitchat.csv"), ["text"])
    report = evaluate(extractor, rows, labelled)
    assert report["report_rate"] <= 0.01
    assert report["group.flagged_rate"] <= 0.01  # tickets + prompts in a grid group


def test_fast_exit_is_exact_on_the_data(extractor: Extractor) -> None:
    from nlp.normalize import MAX_CHARS

    chat, _ = read_rows(_need("dev_chitchat.csv"), ["text"])
    subjects, _ = read_rows(_need("dev_appeals.csv"), ["subject"])
    for row in [*chat, *subjects]:
        text = row.text[:MAX_CHARS]
        full = extractor._or_small_talk(text, extractor._extract_full(extractor.normalise(text)))
        assert extractor.extract(row.text) == full, row.id


def _colloquial(extractor: Extractor, split: str | None = None) -> dict[str, Any]:
    messages = read_messages(_need("dev_colloquial.csv"), split)
    return evaluate_messages(extractor.extract, messages)


def test_residents_messages_meet_the_floors(extractor: Extractor) -> None:
    got = _colloquial(extractor)
    assert got["n"] == 1650
    assert got["private.report_caught_rate"] >= 0.99  # the target
    assert got["urgency.recall"] >= 0.95  # the target
    assert got["urgency.false_rate"] <= 0.03  # the target
    assert got["group.chatter_ticket_rate"] <= 0.016
    assert got["group.chatter_prompt_rate"] <= 0.14
    assert got["group.report_caught_rate"] >= 0.83
    assert got["group.report_ticket_rate"] >= 0.42
    assert got["category.macro_f1"] >= 0.74
    assert got["category.leaf_top1"] >= 0.62
    assert got["category.leaf_top3"] >= 0.81


def test_residents_held_out_half_stays_close(extractor: Extractor) -> None:
    """Rules were written reading even ids only: odd ids are the unseen check."""
    seen, held = _colloquial(extractor, "even"), _colloquial(extractor, "odd")
    assert held["group.chatter_ticket_rate"] <= 0.02
    assert held["group.report_caught_rate"] >= 0.76
    # the held-out half's own floors (it was at 0.685 / 0.492 before the leaf files chose the
    # leaf), and a bound on how far it may lag the half the rules were read from
    assert held["category.leaf_top3"] >= 0.73
    assert held["category.leaf_top1"] >= 0.52
    assert held["category.leaf_top3"] >= seen["category.leaf_top3"] - 0.18
