"""The extractor: compile rule files into one keyword automaton and read messages with it."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ahocorasick

from nlp.errors import RuleFileError
from nlp.location import compile_pattern, find_location, jieba_place_names
from nlp.model import INTENTS, NORMAL, NOT_A_REPORT, URGENT, Extraction
from nlp.normalize import Normaliser
from nlp.rulefiles import SHIPPED_RULES, Entry, read_rules, read_user_dict

# What a keyword does when it is found.
CAT, INTENT, URGENT_WORD, NOT_REPORT, RESOLVED, RECUR, ASK, CUE, PLACE, LOC_SUFFIX = range(10)
PLACE_TAGS = frozenset({"ns", "地名", "place", "loc"})

# Decision constants (documented in docs/NLP.md).
REPORT_THRESHOLD = 2.0  # detection score needed to call a message a report
CATEGORY_MINIMUM = 1.0  # category score needed to name a category
CATEGORY_FACTOR = 0.6  # share of the category score that counts towards detection
CATEGORY_CAP = 5.0  # category score above this adds nothing more to detection
LOCATION_BONUS = 2.0  # a structured place (…区…小区3栋) was mentioned
URGENT_BONUS = 1.5
QUESTION_BONUS = 0.3  # a question (？/吗) about a named topic
_TRAILING = " .!?。！？~…,，"


@dataclass(frozen=True, slots=True)
class Action:
    """One effect of a keyword: its kind, target (path index or intent), weight and source."""

    kind: int
    target: int | str
    weight: float
    source: str


@dataclass(frozen=True, slots=True)
class Compiled:
    """Immutable matching state built from one RuleSet."""

    automaton: Any
    paths: tuple[tuple[str, ...], ...]
    place_pattern: re.Pattern[str]
    strip_prefixes: tuple[str, ...]
    negators: tuple[str, ...]
    question_ends: tuple[str, ...]
    files: tuple[str, ...]
    keywords: frozenset[str]


class Extractor:
    """Reads one message at a time; all I/O happens in load() and reload()."""

    def __init__(
        self,
        compiled: Compiled,
        normaliser: Normaliser,
        sources: tuple[Path, tuple[Path, ...], Path | None],
    ) -> None:
        self._compiled = compiled
        self._normalise = normaliser
        self._sources = sources

    @classmethod
    def load(
        cls,
        rules_dir: Path | None = None,
        extra_dirs: Sequence[Path] = (),
        user_dict: Path | None = None,
    ) -> Extractor:
        """Read, validate and compile the rule files; raises RuleFileError on a bad file."""
        sources = (rules_dir or SHIPPED_RULES, tuple(extra_dirs), user_dict)
        return cls(_compile(*sources), Normaliser.load(), sources)

    def reload(self) -> None:
        """Re-read the same files; on error keep the current rules and raise."""
        self._compiled = _compile(*self._sources)

    @property
    def rule_files(self) -> tuple[str, ...]:
        """Return the rule files the current rules came from."""
        return self._compiled.files

    def keywords(self) -> frozenset[str]:
        """Return every keyword the current rules match on."""
        return self._compiled.keywords

    def normalise(self, text: str) -> str:
        """Return the text as the rules see it."""
        return self._normalise(text if isinstance(text, str) else str(text))

    def extract(self, text: str) -> Extraction:
        """Read one message; pure, never raises on any str."""
        try:
            return self._extract(self.normalise(text))
        except Exception as exc:  # defensive: a message must never crash the bot
            return _failed(exc)

    def _extract(self, norm: str) -> Extraction:
        c = self._compiled
        if not norm:
            return NOT_A_REPORT
        seen: set[str] = set()
        hits: list[tuple[int, str, tuple[Action, ...]]] = []
        for end, (key, actions) in c.automaton.iter(norm):
            if key not in seen:
                seen.add(key)
                hits.append((end - len(key) + 1, key, actions))
        if not hits:
            return NOT_A_REPORT
        return _decide(c, norm, _longest_topics(hits))


def _longest_topics(
    hits: list[tuple[int, str, tuple[Action, ...]]],
) -> list[tuple[int, str, tuple[Action, ...]]]:
    """Drop category keywords found inside a longer category keyword (小学 in 小学生)."""
    spans = [(s, s + len(k)) for s, k, acts in hits if any(a.kind == CAT for a in acts)]
    if len(spans) < 2:
        return hits
    kept = []
    for start, key, actions in hits:
        end = start + len(key)
        inside = any(
            s <= start and end <= e and (e - s) > len(key) for s, e in spans
        )
        if inside and actions[0].kind != URGENT_WORD:
            actions = tuple(a for a in actions if a.kind != CAT)
            if not actions:
                continue
        kept.append((start, key, actions))
    return kept


def _failed(exc: Exception) -> Extraction:
    return Extraction(False, "其他", (), NORMAL, (), None, 0.0, (f"error: {exc!r}",))


def _decide(c: Compiled, norm: str, hits: list[tuple[int, str, tuple[Action, ...]]]) -> Extraction:
    """Turn the keyword hits of one message into an Extraction."""
    path_scores: dict[int, float] = {}
    path_words: dict[int, list[str]] = {}
    intents: dict[str, float] = {}
    intent_words: dict[str, list[str]] = {}
    urgent: list[str] = []
    cue_score = 0.0
    cue_words: list[str] = []
    blockers: list[str] = []
    resolved_at = -1
    recur_at = -1
    asked = False
    places: list[str] = []
    loc_suffix = False
    explanation_pre: list[str] = []
    for start, key, actions in hits:
        if actions[0].kind == URGENT_WORD and any(norm.endswith(n, 0, start) for n in c.negators):
            blockers_local = f"negated: '{key}'"
            explanation_pre.append(blockers_local)
            continue
        for a in actions:
            kind = a.kind
            if kind == CAT:
                p = int(a.target)
                path_scores[p] = path_scores.get(p, 0.0) + a.weight
                path_words.setdefault(p, []).append(f"{key}{a.weight:+g}")
            elif kind == CUE:
                cue_score += a.weight
                cue_words.append(f"{key}{a.weight:+g}")
            elif kind == INTENT:
                t = str(a.target)
                intents[t] = intents.get(t, 0.0) + a.weight
                intent_words.setdefault(t, []).append(key)
            elif kind == URGENT_WORD:
                urgent.append(key)
            elif kind == NOT_REPORT:
                blockers.append(f"negated by '{key}' ({a.source})")
            elif kind == RESOLVED:
                resolved_at = max(resolved_at, start)
                blockers.append(f"already resolved: '{key}' ({a.source})")
            elif kind == RECUR:
                recur_at = max(recur_at, start)
            elif kind == ASK:
                asked = True
            elif kind == PLACE:
                places.append(key)
            elif kind == LOC_SUFFIX:
                loc_suffix = True
    explanation: list[str] = explanation_pre

    # category: the first level with the most weight, then its best-scoring path
    firsts: dict[str, float] = {}
    for idx, score in path_scores.items():
        first = c.paths[idx][0]
        firsts[first] = firsts.get(first, 0.0) + score
    category: tuple[str, ...] = ()
    cat_score = 0.0
    share = 0.0
    if firsts:
        best_first, cat_score = max(firsts.items(), key=lambda kv: kv[1])
        positive = sum(s for s in firsts.values() if s > 0)
        share = cat_score / positive if positive > 0 else 0.0
        if cat_score >= CATEGORY_MINIMUM:
            own = [(s, len(c.paths[i]), i) for i, s in path_scores.items()
                   if c.paths[i][0] == best_first and s > 0]
            deep = [o for o in own if o[1] > 1] or own
            category = c.paths[max(deep)[2]] if deep else (best_first,)
        for idx in sorted(path_scores, key=lambda i: -path_scores[i]):
            explanation.append(
                f"category {'/'.join(c.paths[idx])} {path_scores[idx]:+g}: "
                + " ".join(path_words[idx])
            )
        if len(firsts) > 1:
            ranked = sorted(firsts.items(), key=lambda kv: -kv[1])
            explanation.append("first level: " + ", ".join(f"{k} {v:+g}" for k, v in ranked))

    location = None
    if loc_suffix or places:
        location = find_location(norm, c.place_pattern, places, c.strip_prefixes)
    structured = location is not None and location not in places

    if urgent:
        explanation.append("urgent: " + " ".join(urgent))
    if cue_words:
        explanation.append("report cues: " + " ".join(cue_words))

    question = asked and norm.rstrip(_TRAILING).endswith(c.question_ends)
    if question:
        intents["咨询"] = intents.get("咨询", 0.0) + 3.0
        explanation.append("question form (请问…吗): a consultation, not a report")
    if resolved_at >= 0 and recur_at > resolved_at:
        blockers = [b for b in blockers if not b.startswith("already resolved")]
        explanation.append("resolved, then recurred: still a report")

    detection = CATEGORY_FACTOR * min(max(cat_score, 0.0), CATEGORY_CAP) + cue_score
    detection += LOCATION_BONUS if structured else 0.0
    detection += URGENT_BONUS if urgent else 0.0
    if category and ("?" in norm or norm.rstrip(_TRAILING).endswith(c.question_ends)):
        detection += QUESTION_BONUS

    intent = max(intents.items(), key=lambda kv: (kv[1], -INTENTS.index(kv[0])))[0] if (
        intents
    ) else ""
    if intent:
        explanation.append(f"intent {intent}: " + " ".join(intent_words.get(intent, ["问句"])))
    praise_only = intent == "表扬" and not urgent
    is_report = (
        detection >= REPORT_THRESHOLD
        and not blockers
        and not question
        and not praise_only
        and (bool(category) or bool(urgent) or cue_score > 0 or bool(intents))
    )
    explanation.extend(blockers)
    if praise_only and detection >= REPORT_THRESHOLD:
        explanation.append("praise: not a report")
    if not intent:
        intent = "投诉" if is_report else "其他"
    explanation.append(
        f"detection {detection:.1f} {'>=' if detection >= REPORT_THRESHOLD else '<'} "
        f"{REPORT_THRESHOLD:g}: {'report' if is_report else 'not a report'}"
    )
    strength = detection / (detection + REPORT_THRESHOLD) if detection > 0 else 0.0
    if is_report:
        confidence = 0.5 * strength + 0.5 * (share if category else 0.5)
    else:
        confidence = 1.0 - strength if not blockers and not question else 0.8
    return Extraction(
        is_report=is_report,
        intent=intent,
        category=category,
        urgency=URGENT if urgent else NORMAL,
        urgent_words=tuple(urgent),
        location=location,
        confidence=round(min(max(confidence, 0.0), 1.0), 3),
        explanation=tuple(explanation),
    )


def _compile(rules_dir: Path, extra_dirs: tuple[Path, ...], user_dict: Path | None) -> Compiled:
    """Read every file and build the automaton (the only place that does I/O)."""
    rules = read_rules([rules_dir, *extra_dirs])
    table: dict[str, list[Action]] = {}
    paths: list[tuple[str, ...]] = []
    path_index: dict[tuple[str, ...], int] = {}

    def add(key: str, action: Action) -> None:
        for variant in {key, key.lower(), key.upper()}:
            table.setdefault(variant, []).append(action)

    for e in rules.categories:
        path = tuple(e.section.split("/"))
        if path not in path_index:
            path_index[path] = len(paths)
            paths.append(path)
        add(e.key, Action(CAT, path_index[path], e.weight, _where(e)))
    simple = {
        ("urgency.txt", "紧急"): URGENT_WORD,
        ("negation.txt", "否定"): NOT_REPORT,
        ("negation.txt", "已解决"): RESOLVED,
        ("negation.txt", "复发"): RECUR,
        ("negation.txt", "问句开头"): ASK,
        ("cues.txt", "报告线索"): CUE,
        ("location.txt", "地名"): PLACE,
        ("location.txt", "地名后缀"): LOC_SUFFIX,
        ("location.txt", "楼栋后缀"): LOC_SUFFIX,
    }
    for (concern, section), kind in simple.items():
        for e in rules.section(concern, section):
            add(e.key, Action(kind, section, e.weight, _where(e)))
    for intent in INTENTS:
        for e in rules.section("intent.txt", intent):
            add(e.key, Action(INTENT, intent, e.weight, _where(e)))
    if user_dict is not None:
        for word, tag in read_user_dict(user_dict):
            if tag in PLACE_TAGS:
                add(word, Action(PLACE, "地名", 1.0, f"{user_dict}"))
    for name in jieba_place_names():
        table.setdefault(name, []).append(Action(PLACE, "地名", 1.0, "jieba ns"))
    for e in rules.section("synonyms.txt", "同义词"):
        target = e.target or ""
        if target not in table:
            raise RuleFileError(e.file, e.line, f"'{target}' is not a keyword of any rule file")
        for variant in {e.key, e.key.lower(), e.key.upper()}:
            table.setdefault(variant, []).extend(
                Action(a.kind, a.target, a.weight, f"{a.source} via {e.key}=>{target}")
                for a in table[target]
            )
    automaton = ahocorasick.Automaton()
    for key, actions in table.items():
        ordered = sorted(actions, key=lambda a: a.kind != URGENT_WORD)
        automaton.add_word(key, (key, tuple(ordered)))
    automaton.make_automaton()
    place_suffixes = [e.key for e in rules.section("location.txt", "地名后缀")]
    building_suffixes = [e.key for e in rules.section("location.txt", "楼栋后缀")]
    if not place_suffixes or not building_suffixes:
        raise RuleFileError(
            "location.txt", 0, "needs non-empty [地名后缀] and [楼栋后缀] sections"
        )
    negators = [e.key for e in rules.section("urgency.txt", "否定词")]
    question_ends = [e.key for e in rules.section("negation.txt", "问句结尾")]
    return Compiled(
        automaton=automaton,
        paths=tuple(paths),
        place_pattern=compile_pattern(place_suffixes, building_suffixes),
        strip_prefixes=tuple(e.key for e in rules.section("location.txt", "去除前缀")),
        negators=tuple(sorted(negators, key=len, reverse=True)),
        question_ends=tuple(question_ends) or ("吗",),
        files=tuple(rules.files),
        keywords=frozenset(table),
    )


def _where(e: Entry) -> str:
    return f"{Path(e.file).name}:{e.line}"
