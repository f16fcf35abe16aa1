"""Indicator definitions as data (``bot/data/indicators.toml``): the rates, 综合成绩, scope, bands.

`Indicators` says how each rate weighs the 回访 answers, how the rates combine into 综合成绩,
which tickets are assessed on which rates, which date puts a ticket in a period, where the
monthly cycle starts and how rankings are coloured. The file is validated once at start; an
error names the file and the key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from bot.datafiles import read_toml
from bot.errors import IndicatorsFileError
from bot.workdays import DATA_DIR

__all__ = ["DEFAULT_INDICATORS_FILE", "Indicators", "IndicatorsFileError", "RateDef", "ScopeRule"]

DEFAULT_INDICATORS_FILE = DATA_DIR / "indicators.toml"
QUESTIONS: dict[str, frozenset[str]] = {
    "contacted": frozenset({"yes", "no"}),
    "solved": frozenset({"resolved", "partial", "unresolved"}),
    "satisfaction": frozenset({"satisfied", "basic", "dissatisfied"}),
}
_TOP_KEYS = {"format", "rates", "score", "basis", "scope", "bands", "periods", "ranking"}


@dataclass(frozen=True, slots=True)
class RateDef:
    """One rate: the 回访 question it reads and what each answer is worth (0 to 1)."""

    key: str
    name: str
    question: str
    weights: Mapping[str, Fraction]


@dataclass(frozen=True, slots=True)
class ScopeRule:
    """Tickets of this intent (and category prefix) are assessed on these rates only."""

    intent: str
    category: str
    rates: frozenset[str]

    def matches(self, intent: str, category: str) -> bool:
        """Tell whether a ticket of this intent and category falls under the rule."""
        if intent != self.intent:
            return False
        return not self.category or (category + "/").startswith(self.category + "/")


@dataclass(frozen=True)
class Indicators:
    """Every indicator setting of a deployment."""

    rates: tuple[RateDef, ...]
    score_name: str
    score_weights: Mapping[str, Fraction]
    followup_basis: str = "closed"
    scope: tuple[ScopeRule, ...] = ()
    green: float = 90.0
    yellow: float = 80.0
    cycle_start_day: int = 1
    min_followups: int = 1
    source: Path = DEFAULT_INDICATORS_FILE

    @classmethod
    def load(cls, path: Path | None = None) -> Indicators:
        """Read and validate an indicators file (the shipped one by default)."""
        path = path or DEFAULT_INDICATORS_FILE
        return _parse(read_toml(path, IndicatorsFileError), path)

    def rate(self, key: str) -> RateDef:
        """Return the rate with this key."""
        return next(r for r in self.rates if r.key == key)

    def assessed_on(self, intent: str, category: str) -> frozenset[str]:
        """The rates a ticket of this intent and category is assessed on."""
        for rule in self.scope:
            if rule.matches(intent, category):
                return rule.rates
        return frozenset(r.key for r in self.rates)

    def band(self, score: float | None) -> str:
        """红 / 黄 / 绿 for a 综合成绩 ("" when there is none)."""
        if score is None:
            return ""
        if score >= self.green:
            return "green"
        return "yellow" if score >= self.yellow else "red"


def _number(raw: object, path: Path, key: str, low: float, high: float) -> Fraction:
    if isinstance(raw, bool) or not isinstance(raw, (int, float)) or not low <= raw <= high:
        raise IndicatorsFileError(path, key, f"应为 {low} 到 {high} 之间的数")
    return Fraction(str(raw))


def _table(raw: object, path: Path, key: str) -> Mapping[str, object]:
    if not isinstance(raw, dict):
        raise IndicatorsFileError(path, key, "应为一个表")
    return raw


def _parse(doc: Mapping[str, object], path: Path) -> Indicators:
    unknown = sorted(set(doc) - _TOP_KEYS)
    if unknown:
        raise IndicatorsFileError(
            path, unknown[0], f"不认识的键（可用的键：{'、'.join(sorted(_TOP_KEYS))}）"
        )
    if doc.get("format", 1) != 1:
        raise IndicatorsFileError(path, "format", f"不支持的格式版本 {doc['format']!r}（应为 1）")
    rates: list[RateDef] = []
    for key, raw in _table(doc.get("rates"), path, "rates").items():
        where = f"rates.{key}"
        table = _table(raw, path, where)
        name, question = table.get("name"), table.get("question")
        if not isinstance(name, str) or not name.strip():
            raise IndicatorsFileError(path, f"{where}.name", "应为非空的字符串")
        if question not in QUESTIONS:
            raise IndicatorsFileError(
                path, f"{where}.question", f"应为以下之一：{'、'.join(sorted(QUESTIONS))}"
            )
        weights: dict[str, Fraction] = {}
        for answer, w in _table(table.get("weights"), path, f"{where}.weights").items():
            if answer not in QUESTIONS[question]:
                raise IndicatorsFileError(
                    path, f"{where}.weights.{answer}", f"不是 {question} 这个问题的答案"
                )
            weights[answer] = _number(w, path, f"{where}.weights.{answer}", 0, 1)
        rates.append(RateDef(key, name.strip(), question, weights))
    if not rates:
        raise IndicatorsFileError(path, "rates", "一个比率都没有定义")
    keys = {r.key for r in rates}

    score = _table(doc.get("score"), path, "score")
    score_weights: dict[str, Fraction] = {}
    for key, w in _table(score.get("weights"), path, "score.weights").items():
        if key not in keys:
            raise IndicatorsFileError(
                path,
                f"score.weights.{key}",
                "没有这个比率（须是 [rates] 中定义的）",
            )
        score_weights[key] = _number(w, path, f"score.weights.{key}", 0, 1000)
    if not score_weights or sum(score_weights.values()) == 0:
        raise IndicatorsFileError(path, "score.weights", "权重不能全为 0")

    basis = _table(doc.get("basis", {}), path, "basis").get("followups", "closed")
    if basis not in ("closed", "filed"):
        raise IndicatorsFileError(
            path,
            "basis.followups",
            '应为 "closed"（按办结日期）或 "filed"（按登记日期）',
        )

    scope: list[ScopeRule] = []
    raw_scope = doc.get("scope", [])
    if not isinstance(raw_scope, list):
        raise IndicatorsFileError(path, "scope", "应为 [[scope]] 表")
    for i, raw in enumerate(raw_scope):
        where = f"scope[{i}]"
        table = _table(raw, path, where)
        intent, category = table.get("intent"), table.get("category", "")
        listed = table.get("rates")
        if not isinstance(intent, str) or not isinstance(category, str):
            raise IndicatorsFileError(path, f"{where}.intent", "应为字符串")
        if not isinstance(listed, list) or not listed or any(r not in keys for r in listed):
            raise IndicatorsFileError(
                path,
                f"{where}.rates",
                "应为比率键名的列表（须是 [rates] 中定义的）",
            )
        scope.append(ScopeRule(intent, category.strip("/"), frozenset(listed)))

    bands = _table(doc.get("bands", {}), path, "bands")
    green = float(_number(bands.get("green", 90), path, "bands.green", 0, 100))
    yellow = float(_number(bands.get("yellow", 80), path, "bands.yellow", 0, 100))
    if yellow > green:
        raise IndicatorsFileError(path, "bands.yellow", "不能高于 green")
    periods = _table(doc.get("periods", {}), path, "periods")
    start_day = periods.get("cycle_start_day", 1)
    if not isinstance(start_day, int) or isinstance(start_day, bool) or not 1 <= start_day <= 28:
        raise IndicatorsFileError(path, "periods.cycle_start_day", "应为 1 到 28 之间的日子")
    ranking = _table(doc.get("ranking", {}), path, "ranking")
    minimum = ranking.get("min_followups", 1)
    if not isinstance(minimum, int) or isinstance(minimum, bool) or minimum < 0:
        raise IndicatorsFileError(path, "ranking.min_followups", "应为不小于 0 的整数")
    name = score.get("name", "综合成绩")
    return Indicators(
        rates=tuple(rates),
        score_name=str(name),
        score_weights=score_weights,
        followup_basis=str(basis),
        scope=tuple(scope),
        green=green,
        yellow=yellow,
        cycle_start_day=start_day,
        min_followups=minimum,
        source=path,
    )
