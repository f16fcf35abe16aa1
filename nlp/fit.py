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

`fit_cues` does the same for the report cues (`cues.txt`) against the bot's group decision:
reports should reach the ticket score, chatter should stay below the question score.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from nlp.category import BODY_FACTOR, CATEGORY_MINIMUM, nested_topics
from nlp.compiled import CAT, CUE, FULL_STOP
from nlp.dataset import Row
from nlp.decision import report_score
from nlp.detection import PROBLEM_CUE, QUESTION_CUE, REPORT_THRESHOLD, first_of_each
from nlp.extractor import Extractor
from nlp.matcher import utf8

NONE = ""  # the "no category" class
_BLOCKED = 0.8  # the confidence of a non-report decided by a negation, question or praise
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
    hits = first_of_each(c.automaton.ends(encoded))
    dropped = nested_topics(hits)
    lead_end = encoded.find(FULL_STOP)
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
    """Rewrite the weights of the changed lines in rules_dir (categories/ or its top level,
    for cues.txt); return how many."""
    by_file: dict[str, dict[int, float]] = {}
    for (name, number), _, new in fitted.changes(step):
        by_file.setdefault(name, {})[number] = new
    changed = 0
    for name, lines in by_file.items():
        path = rules_dir / "categories" / name
        if not path.exists():
            path = rules_dir / name
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


# --- report cues -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CueExample:
    """One message for the cue fit: its cue lines, the rest of its detection, what it is."""

    lines: dict[Line, int]
    rest: float  # detection without the fitted cue lines (topic, place, urgency, bonuses)
    report: bool
    named: bool  # a category is named, so a grid group could be asked about it
    weight: float


def cue_features(extractor: Extractor, text: str) -> dict[Line, int]:
    """The report-cue lines (cues.txt) a message fires, each counted once."""
    c = extractor._compiled
    out: dict[Line, int] = {}
    for _, info in first_of_each(c.automaton.ends(utf8(extractor.normalise(text)))):
        for a in info.actions:
            if a.kind == CUE and " via " not in a.source:
                line = _line(a.source)
                out[line] = out.get(line, 0) + 1
    return out


def cue_weights(extractor: Extractor) -> dict[Line, float]:
    """The current weight of every report-cue line."""
    out: dict[Line, float] = {}
    for info in extractor._compiled.automaton.values():
        for a in info.actions:
            if a.kind == CUE and " via " not in a.source:
                out[_line(a.source)] = a.weight
    return out


def cue_example(
    extractor: Extractor, text: str, report: bool, weight: float, before: dict[Line, float]
) -> CueExample | None:
    """The fit's view of one message (None when no cue fires or a blocker decides it)."""
    lines = cue_features(extractor, text)
    if not lines:
        return None
    e = extractor.extract(text)
    if e.small_talk or (not e.is_report and e.confidence == _BLOCKED):
        return None  # small talk, or a negation/resolution/question/praise decides it
    score = report_score(e)
    if score >= 1.0:
        return None
    detection = REPORT_THRESHOLD * score / (1.0 - score)
    rest = detection - sum(before.get(line, 0.0) * n for line, n in lines.items())
    return CueExample(lines, rest, report, bool(e.category), weight)


def _cue_bounds(before: float, cap: float) -> tuple[float, float]:
    """A fitted cue keeps its sign and its side of PROBLEM_CUE and QUESTION_CUE."""
    if before < 0:
        return -max(cap, -before), -0.1
    if before >= QUESTION_CUE:
        return QUESTION_CUE, max(cap, before)
    if before >= PROBLEM_CUE:
        return PROBLEM_CUE, QUESTION_CUE - 0.1
    return 0.1, PROBLEM_CUE - 0.1


def fit_cues(
    extractor: Extractor,
    examples: Sequence[CueExample],
    ticket_at: float,
    ask_at: float,
    l2: float = 0.01,
    cap: float = 3.0,
    sharpness: float = 1.5,
    epochs: int = 300,
    rate: float = 0.01,
) -> Fitted:
    """Fit the cue weights so reports reach the ticket score and chatter stays silent.

    Loss per message (logistic, `sharpness` per unit of detection): a report pays for
    falling short of the ticket score and of the question score; chatter pays for reaching
    the question score (the ticket score when no category is named, as no question is asked
    then). L2 pulls every weight towards the hand weight; a weight keeps its sign and its
    side of PROBLEM_CUE and QUESTION_CUE, so the other rules read the same words as before.
    """
    before = cue_weights(extractor)
    ticket = REPORT_THRESHOLD * ticket_at / (1.0 - ticket_at)
    ask = REPORT_THRESHOLD * ask_at / (1.0 - ask_at)
    w = dict(before)
    bounds = {line: _cue_bounds(b, cap) for line, b in before.items()}
    n = len(examples)
    s = sharpness
    for _ in range(epochs):
        grad: dict[Line, float] = {}
        for x in examples:
            d = x.rest + sum(w.get(line, 0.0) * k for line, k in x.lines.items())
            if x.report:
                g = -s * (_sigmoid(s * (ticket - d)) + _sigmoid(s * (ask - d)))
            else:
                g = s * _sigmoid(s * (d - (ask if x.named else ticket)))
            for line, k in x.lines.items():
                if line in w:
                    grad[line] = grad.get(line, 0.0) + x.weight * g * k
        for line, old in w.items():
            new = old - rate * (grad.get(line, 0.0) + l2 * n * (old - before[line]))
            lo, hi = bounds[line]
            w[line] = min(hi, max(lo, new))
    return Fitted(w, before, dict.fromkeys(before, ""))


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(min(z, 50.0), -50.0)))
