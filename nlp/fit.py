"""Fit the weights of the existing category keyword lines on labelled messages (offline).

The category decision is linear: a first level's score is the sum of the weights of its
keyword lines found in the message (topic words after the first sentence count
BODY_FACTOR). This module fits those weights as a multinomial logistic regression over
exactly those features: one class per first level plus "no category" (fixed score
CATEGORY_MINIMUM, the score a first level needs to be named). The loss is L2-regularised
towards the weights a person wrote (a prior, not a blank slate), weights are capped at the
largest hand weight (so one topic word alone still cannot make a report) and never change
sign. Non-reports (chit-chat) may be added as "no category" examples, which keeps the
weights of words common in chat low. No keyword is added or removed: the result is the
same rule lines with new weights, written back as `keyword weight` and rounded to 0.1.

Run on the even ids only; check on the odd ids (docs/NLP.md).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from nlp.dataset import Row
from nlp.extractor import (
    _FULL_STOP,
    BODY_FACTOR,
    CAT,
    CATEGORY_MINIMUM,
    Extractor,
    _first_of_each,
    _nested_topics,
)
from nlp.matcher import utf8

NONE = ""  # the "no category" class
_LINE = re.compile(r"^(?P<key>\S+)(?:\s+(?P<weight>[-+]?\d+(?:\.\d+)?))?(?P<rest>\s*#.*)?$")

Line = tuple[str, int]  # (category file name, line number)


@dataclass(frozen=True, slots=True)
class Fitted:
    """The fitted weight of every category keyword line, and the hand weight it started at."""

    weights: dict[Line, float]
    before: dict[Line, float]
    firsts: dict[Line, str]

    def changes(self, step: float = 0.1) -> list[tuple[Line, float, float]]:
        """(line, old, new) for the lines whose rounded weight differs from the old one."""
        out = []
        for line, w in sorted(self.weights.items()):
            new = _rounded(w, self.before[line], step)
            if abs(new - self.before[line]) > 1e-9:
                out.append((line, self.before[line], new))
        return out


def features(extractor: Extractor, text: str) -> dict[Line, float]:
    """The category keyword lines a message fires, with their factor (1, or BODY_FACTOR)."""
    c = extractor._compiled
    encoded = utf8(extractor.normalise(text))
    hits = _first_of_each(c.automaton.ends(encoded))
    dropped = _nested_topics(hits)
    lead_end = encoded.find(_FULL_STOP)
    if lead_end < 0:
        lead_end = len(encoded)
    out: dict[Line, float] = {}
    for end, info in hits:
        if not info.cats or info.key in dropped:
            continue
        k = 1.0 if end - info.back < lead_end else BODY_FACTOR
        for a in info.actions:
            if a.kind == CAT:
                line = _line(a.source)
                out[line] = out.get(line, 0.0) + k
    return out


def hand_weights(extractor: Extractor) -> tuple[dict[Line, float], dict[Line, str]]:
    """The current weight and first level of every category keyword line."""
    c = extractor._compiled
    weights: dict[Line, float] = {}
    firsts: dict[Line, str] = {}
    for info in c.automaton.values():
        for a in info.actions:
            if a.kind == CAT and " via " not in a.source:
                weights[_line(a.source)] = a.weight
                firsts[_line(a.source)] = c.path_first[int(a.target)]
    return weights, firsts


def fit(
    extractor: Extractor,
    rows: Sequence[Row],
    negatives: Sequence[str] = (),
    l2: float = 0.001,
    cap: float = 3.0,
    epochs: int = 200,
    rate: float = 0.02,
) -> Fitted:
    """Fit the line weights on labelled rows (and non-report texts as "no category")."""
    before, firsts = hand_weights(extractor)
    data = [(features(extractor, r.text), r.label or NONE) for r in rows]
    data += [(f, NONE) for t in negatives if (f := features(extractor, t))]
    data = [(f, g) for f, g in data if f]
    labels = sorted(set(firsts.values()))
    w = dict(before)
    n = len(data)
    for _ in range(epochs):
        grad: dict[Line, float] = {}
        for feats, gold in data:
            scores = dict.fromkeys(labels, 0.0)
            for line, v in feats.items():
                if line in w:
                    scores[firsts[line]] += v * w[line]
            scores[NONE] = CATEGORY_MINIMUM
            top = max(scores.values())
            exp = {k: math.exp(s - top) for k, s in scores.items()}
            z = sum(exp.values())
            for line, v in feats.items():
                if line in w:
                    first = firsts[line]
                    grad[line] = grad.get(line, 0.0) + v * (exp[first] / z - (first == gold))
        for line, old in w.items():
            new = old - rate * (grad.get(line, 0.0) + l2 * n * (old - before[line]))
            # projected: capped, and never across zero (a hand word keeps its direction)
            w[line] = min(cap, max(new, 0.0)) if before[line] > 0 else min(new, 0.0)
    return Fitted(w, before, firsts)


def write(fitted: Fitted, rules_dir: Path, step: float = 0.1) -> int:
    """Rewrite the weights of the changed lines in rules_dir/categories; return how many."""
    by_file: dict[str, dict[int, float]] = {}
    for (name, number), _, new in fitted.changes(step):
        by_file.setdefault(name, {})[number] = new
    changed = 0
    for name, lines in by_file.items():
        path = rules_dir / "categories" / name
        text = path.read_text(encoding="utf-8").split("\n")
        for number, new in lines.items():
            m = _LINE.match(text[number - 1])
            if m is None:
                raise ValueError(f"{path}:{number}: not a 'keyword weight' line")
            text[number - 1] = f"{m['key']} {new:g}" + (m["rest"] or "")
            changed += 1
        path.write_text("\n".join(text), encoding="utf-8")
    return changed


def _rounded(w: float, before: float, step: float) -> float:
    """Round to step, keeping the hand weight's sign (a weight is never 0)."""
    new = round(round(w / step) * step, 6)
    if new == 0 or (new > 0) != (before > 0):
        new = step if before > 0 else -step
    return new


def _line(source: str) -> Line:
    name, _, number = source.partition(" ")[0].rpartition(":")
    return name, int(number)
