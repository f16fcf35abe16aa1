"""The indicators file: the shipped defaults, a replacement, and errors that name the key."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest

from bot.indicators import Indicators, IndicatorsFileError


def test_shipped_defaults_follow_beijing() -> None:
    ind = Indicators.load()
    assert [r.name for r in ind.rates] == ["响应率", "解决率", "满意率"]
    assert ind.rate("resolution").weights["partial"] == Fraction(1, 2)
    assert ind.rate("satisfaction").weights == {"satisfied": 1, "basic": Fraction(9, 10)}
    assert dict(ind.score_weights) == {"response": 10, "resolution": 50, "satisfaction": 40}
    assert ind.assessed_on("咨询", "城乡建设/x") == {"response"}
    assert ind.assessed_on("投诉", "城乡建设/x") == {"response", "resolution", "satisfaction"}
    assert (ind.band(90), ind.band(89.99), ind.band(79.9), ind.band(None)) == (
        "green",
        "yellow",
        "red",
        "",
    )
    assert ind.cycle_start_day == 19 and ind.followup_basis == "closed"


def test_a_replacement_file_with_other_weights(tmp_path: Path) -> None:
    text = (Indicators.load().source).read_text(encoding="utf-8")
    text = text.replace(
        "response = 10, resolution = 50, satisfaction = 40",
        "response = 30, resolution = 35, satisfaction = 35",
    )
    path = tmp_path / "ind.toml"
    path.write_text(text, encoding="utf-8")
    assert dict(Indicators.load(path).score_weights) == {
        "response": 30,
        "resolution": 35,
        "satisfaction": 35,
    }


@pytest.mark.parametrize(
    ("change", "key"),
    [
        (('question = "solved"', 'question = "mood"'), "rates.resolution.question"),
        (("partial = 0.5", "partial = 1.5"), "rates.resolution.weights.partial"),
        (("partial = 0.5", "maybe = 0.5"), "rates.resolution.weights.maybe"),
        (("response = 10,", "speed = 10,"), "score.weights.speed"),
        (('followups = "closed"', 'followups = "never"'), "basis.followups"),
        (("cycle_start_day = 19", "cycle_start_day = 31"), "periods.cycle_start_day"),
        (('rates = ["response"]', 'rates = ["speed"]'), "scope[0].rates"),
        (("yellow = 80.0", "yellow = 95.0"), "bands.yellow"),
    ],
)
def test_errors_name_the_key(tmp_path: Path, change: tuple[str, str], key: str) -> None:
    text = Indicators.load().source.read_text(encoding="utf-8")
    assert change[0] in text
    path = tmp_path / "ind.toml"
    path.write_text(text.replace(change[0], change[1]), encoding="utf-8")
    with pytest.raises(IndicatorsFileError) as err:
        Indicators.load(path)
    assert err.value.key == key and str(path) in str(err.value)
