"""The extractor: compile rule files into one keyword automaton and read messages with it."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from nlp.errors import RuleFileError
from nlp.location import compile_pattern, find_location, jieba_place_names
from nlp.matcher import KeywordTrie
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
    label: str = ""  # how the explanation shows it, e.g. "路灯+3 (urban.txt:12)"


@dataclass(frozen=True, slots=True)
class Compiled:
    """Immutable matching state built from one RuleSet."""

    automaton: KeywordTrie[tuple[str, tuple[Action, ...]]]
    paths: tuple[tuple[str, ...], ...]
    place_pattern: re.Pattern[str]
    strip_prefixes: tuple[str, ...]
    negators: tuple[str, ...]
    question_ends: tuple[str, ...]
    files: tuple[str, ...]
    keywords: frozenset[str]
    gazetteer: KeywordTrie[str]  # known place names, consulted only for reports


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
        for start, (key, actions) in c.automaton.find(norm):
            if key not in seen:
                seen.add(key)
                hits.append((start, key, actions))
        if not hits:
            return NOT_A_REPORT
        return _decide(c, norm, _longest_topics(hits) if len(hits) > 1 else hits)


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
    intents: dict[str, float] = {}
    urgent: list[str] = []
    negated: list[str] = []
    cue_score = 0.0
    blockers: list[Action] = []
    blocker_keys: list[str] = []
    resolved_at = -1
    recur_at = -1
    asked = False
    loc_suffix = False
    for start, key, actions in hits:
        if actions[0].kind == URGENT_WORD and any(norm.endswith(n, 0, start) for n in c.negators):
            negated.append(key)
            continue
        for a in actions:
            kind = a.kind
            if kind == CAT:
                p = a.target
                assert isinstance(p, int)
                path_scores[p] = path_scores.get(p, 0.0) + a.weight
            elif kind == CUE:
                cue_score += a.weight
            elif kind == LOC_SUFFIX:
                loc_suffix = True
            elif kind == INTENT:
                t = str(a.target)
                intents[t] = intents.get(t, 0.0) + a.weight
            elif kind == URGENT_WORD:
                urgent.append(key)
            elif kind in (NOT_REPORT, RESOLVED):
                blockers.append(a)
                blocker_keys.append(key)
                if kind == RESOLVED:
                    resolved_at = max(resolved_at, start)
            elif kind == RECUR:
                recur_at = max(recur_at, start)
            elif kind == ASK:
                asked = True
    if resolved_at >= 0 and recur_at > resolved_at:
        kept = [(a, k) for a, k in zip(blockers, blocker_keys, strict=True) if a.kind != RESOLVED]
        blockers = [a for a, _ in kept]
        blocker_keys = [k for _, k in kept]

    firsts: dict[str, float] = {}
    for idx, score in path_scores.items():
        first = c.paths[idx][0]
        firsts[first] = firsts.get(first, 0.0) + score
    best_first, cat_score = max(firsts.items(), key=_score) if firsts else ("", 0.0)
    has_category = cat_score >= CATEGORY_MINIMUM
    question = asked and norm.rstrip(_TRAILING).endswith(c.question_ends)

    detection = CATEGORY_FACTOR * min(max(cat_score, 0.0), CATEGORY_CAP) + cue_score
    detection += URGENT_BONUS if urgent else 0.0
    if has_category and ("?" in norm or norm.rstrip(_TRAILING).endswith(c.question_ends)):
        detection += QUESTION_BONUS
    evidence = has_category or bool(urgent) or cue_score > 0 or bool(intents)
    location = None
    structured = False
    looked = False
    # The place pattern only matters if it could tip the balance, or for a report.
    if loc_suffix and evidence and detection + LOCATION_BONUS >= REPORT_THRESHOLD:
        location = find_location(norm, c.place_pattern, (), c.strip_prefixes)
        looked = True
        structured = location is not None
        detection += LOCATION_BONUS if structured else 0.0

    intent = max(intents.items(), key=_intent_rank)[0] if intents else ""
    if question:
        intent = "咨询"
    praise_only = intent == "表扬" and not urgent
    is_report = (
        detection >= REPORT_THRESHOLD
        and evidence
        and not blockers
        and not question
        and not praise_only
    )
    category: tuple[str, ...] = ()
    share = 0.0
    if has_category:
        positive = sum(v for v in firsts.values() if v > 0)
        share = cat_score / positive if positive > 0 else 0.0
        own = [(v, len(c.paths[i]), i) for i, v in path_scores.items()
               if c.paths[i][0] == best_first and v > 0]
        deep = [o for o in own if o[1] > 1] or own
        category = c.paths[max(deep)[2]] if deep else (best_first,)
    if is_report and location is None:
        if loc_suffix and not looked:
            location = find_location(norm, c.place_pattern, (), c.strip_prefixes)
        location = location or _known_place(c, norm)
    if not intent:
        intent = "投诉" if is_report else "其他"
    if not is_report and not blockers and not question and not urgent:
        # The common chit-chat path: a word or two fired, explained in one line.
        return Extraction(
            False, intent, category, NORMAL, (), location,
            round(1.0 - detection / (detection + REPORT_THRESHOLD), 3) if detection > 0 else 1.0,
            (f"detection {detection:.1f} < {REPORT_THRESHOLD:g}: not a report (fired: "
             + " ".join(k for _, k, _ in hits) + ")",),
        )
    strength = detection / (detection + REPORT_THRESHOLD) if detection > 0 else 0.0
    if is_report:
        confidence = 0.5 * strength + 0.5 * (share if category else 0.5)
    else:
        confidence = 1.0 - strength if not blockers and not question else 0.8
    explanation = _explain(
        c, hits, path_scores, firsts, urgent, negated, blockers, blocker_keys, question,
        praise_only and detection >= REPORT_THRESHOLD, intent, detection, is_report,
    )
    return Extraction(
        is_report=is_report,
        intent=intent,
        category=category,
        urgency=URGENT if urgent else NORMAL,
        urgent_words=tuple(urgent),
        location=location,
        confidence=round(min(max(confidence, 0.0), 1.0), 3),
        explanation=explanation,
    )


def _score(item: tuple[str, float]) -> float:
    return item[1]


def _intent_rank(item: tuple[str, float]) -> tuple[float, int]:
    return item[1], -INTENTS.index(item[0])


def _known_place(c: Compiled, norm: str) -> str | None:
    return max((name for _, name in c.gazetteer.find(norm)), key=len, default=None)


def _explain(
    c: Compiled,
    hits: list[tuple[int, str, tuple[Action, ...]]],
    path_scores: dict[int, float],
    firsts: dict[str, float],
    urgent: list[str],
    negated: list[str],
    blockers: list[Action],
    blocker_keys: list[str],
    question: bool,
    praise: bool,
    intent: str,
    detection: float,
    is_report: bool,
) -> tuple[str, ...]:
    """List the rules that fired, with the file and line each came from."""
    out: list[str] = [f"negated: '{k}'" for k in negated]
    by_path: dict[int, list[str]] = {}
    cues: list[str] = []
    intent_words: list[str] = []
    for _, key, actions in hits:
        for a in actions:
            if a.kind == CAT:
                by_path.setdefault(int(a.target), []).append(a.label)
            elif a.kind == CUE:
                cues.append(a.label)
            elif a.kind == INTENT and a.target == intent:
                intent_words.append(key)
    for idx in sorted(by_path, key=lambda i: -path_scores[i]):
        out.append(f"category {'/'.join(c.paths[idx])} {path_scores[idx]:+g}: "
                   + " ".join(by_path[idx]))
    if len(firsts) > 1:
        ranked = sorted(firsts.items(), key=lambda kv: -kv[1])
        out.append("first level: " + ", ".join(f"{k} {v:+g}" for k, v in ranked))
    if urgent:
        out.append("urgent: " + " ".join(urgent))
    if cues:
        out.append("report cues: " + " ".join(cues))
    if question:
        out.append("question form (请问…吗): a consultation, not a report")
    elif intent_words:
        out.append(f"intent {intent}: " + " ".join(intent_words))
    for a, key in zip(blockers, blocker_keys, strict=True):
        what = "already resolved" if a.kind == RESOLVED else "negated by"
        out.append(f"{what}: '{key}' ({a.source})")
    if praise:
        out.append("praise: not a report")
    verdict = "report" if is_report else "not a report"
    sign = ">=" if detection >= REPORT_THRESHOLD else "<"
    out.append(f"detection {detection:.1f} {sign} {REPORT_THRESHOLD:g}: {verdict}")
    return tuple(out)


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
    places = jieba_place_names()
    places.extend(k for k, acts in table.items() if any(a.kind == PLACE for a in acts))
    gazetteer = KeywordTrie((name, name) for name in places)
    for key in [k for k, acts in table.items() if all(a.kind == PLACE for a in acts)]:
        del table[key]
    for e in rules.section("synonyms.txt", "同义词"):
        target = e.target or ""
        if target not in table:
            raise RuleFileError(e.file, e.line, f"'{target}' is not a keyword of any rule file")
        for variant in {e.key, e.key.lower(), e.key.upper()}:
            table.setdefault(variant, []).extend(
                Action(a.kind, a.target, a.weight, f"{a.source} via {e.key}=>{target}")
                for a in table[target]
            )
    automaton = KeywordTrie(
        (key, (key, tuple(_labelled(key, a) for a in sorted(actions, key=_urgent_first))))
        for key, actions in table.items()
    )
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
        gazetteer=gazetteer,
    )


def _urgent_first(a: Action) -> bool:
    return a.kind != URGENT_WORD


def _labelled(key: str, a: Action) -> Action:
    label = f"{key}{a.weight:+g} ({a.source})" if a.kind == CAT else f"{key}{a.weight:+g}"
    return Action(a.kind, a.target, a.weight, a.source, label)


def _where(e: Entry) -> str:
    return f"{Path(e.file).name}:{e.line}"
