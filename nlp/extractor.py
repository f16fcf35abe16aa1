"""The extractor: compile rule files into one keyword automaton and read messages with it."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from nlp.errors import RuleFileError
from nlp.location import PlacePattern, compile_pattern, find_location, jieba_place_names
from nlp.matcher import Utf8Automaton, utf8
from nlp.model import (
    INTENTS,
    NORMAL,
    NOT_A_REPORT,
    SMALL_TALK,
    URGENT,
    Explanation,
    Extraction,
)
from nlp.normalize import MAX_CHARS, Normaliser
from nlp.rulefiles import SHIPPED_RULES, Entry, read_rules, read_user_dict

# What a keyword does when it is found.
CAT, INTENT, URGENT_WORD, NOT_REPORT, RESOLVED, RECUR, ASK, CUE, PLACE, LOC_SUFFIX = range(10)
_URGENT_BIT = 1 << URGENT_WORD
_NOT_REPORT_BIT = 1 << NOT_REPORT
_RESOLVED_BIT = 1 << RESOLVED
_BLOCK_BITS = _NOT_REPORT_BIT | _RESOLVED_BIT
_RECUR_BIT = 1 << RECUR
_ASK_BIT = 1 << ASK
_LOC_BIT = 1 << LOC_SUFFIX
PLACE_TAGS = frozenset({"ns", "地名", "place", "loc"})

# Decision constants (documented in docs/NLP.md).
REPORT_THRESHOLD = 2.0  # detection score needed to call a message a report
CATEGORY_MINIMUM = 1.0  # category score needed to name a category
CATEGORY_FACTOR = 0.3  # share of the topic score counting towards detection (a topic is talk)
PROBLEM_CUE = 1.0  # a cue this strong says something is wrong (坏了, 没人管, 太吵 …)
PROBLEM_TOPIC_FACTOR = 0.7  # the topic's share of detection when such a cue is present
CATEGORY_CAP = 4.0  # category score above this adds nothing more to detection
LOCATION_BONUS = 2.0  # a structured place (…区…小区3栋) was mentioned
URGENT_BONUS = 1.5
QUESTION_BONUS = 0.3  # a question (？/吗) about a named topic
QUESTION_CUE = 1.5  # a 请问…吗 question holding one cue this strong (拖欠, 违法…) is a report
BODY_FACTOR = 0.3  # weight of topic words after the first sentence (fitted on even ids)
LONG_CHARS = 40  # a message this long that names a topic (and no talk marker) describes it
LONG_BONUS = 1.0  # ... a described problem (a problem cue fired) counts this much more
DESCRIBED_BONUS = 0.5  # ... a described topic without a problem cue, this much more
SMALL_TALK_CHARS = 40  # a longer message is never taken for small talk
MAX_HITS = 400  # distinct keywords read per message (a real one holds a few dozen at most)
MAX_ALTERNATIVES = 2  # next best categories offered to staff after the first
# Category files that hold a first level's general vocabulary (学校, 医院, 工资 …) filed on
# one default leaf: their words count fully for the first level, but a leaf is chosen by the
# words of the leaf files (residents.txt, taxonomy_vocabulary.txt, a deployment's files);
# the field words choose the leaf only when none of those fired for that first level.
FIELD_FILES = frozenset({
    "commerce.txt", "education.txt", "environment.txt", "health.txt", "labour.txt",
    "transport.txt", "urban_construction.txt", "other_levels.txt",
})
FIELD_LEAF_FACTOR = 0.05  # a field word's weight when choosing the leaf
_FULL_STOP = utf8("。")
_TRAILING = " .!?。！？~…,，"


@dataclass(frozen=True, slots=True)
class Action:
    """One effect of a keyword: its kind, target (path index or intent), weight and source."""

    kind: int
    target: int | str
    weight: float
    source: str
    label: str = ""  # how the explanation shows it, e.g. "路灯+3 (urban.txt:12)"


Solo = tuple[Extraction | None, Extraction | None, bool]


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """Everything one keyword does, folded at load time so a message is cheap to decide."""

    key: str
    back: int  # UTF-8 length of the key - 1: a hit ending at byte e starts at e - back
    actions: tuple[Action, ...]
    cats: tuple[tuple[int, float], ...]  # (path index, weight)
    firsts: tuple[tuple[str, float], ...]  # the same weights summed per first level
    cat1: tuple[int, str, float] | None  # (path, first level, weight) when there is one path
    cat_lines: tuple[str, ...]  # "category <path>: word+w (file:line)", built at load time
    cue_line: str  # "report cue: word+w" when the word is a report cue, else ""
    lines: tuple[str, ...]  # cat_lines and cue_line together: what the explanation shows
    cue: float
    intents: tuple[tuple[str, float], ...]
    flags: int  # bit 1 << kind for the kinds without a weight
    trigger: bool  # can make a message a report, a consultation or urgent on its own
    # the longer category keywords containing this one, each with the byte offsets at which
    # it lies inside them (not compared: a dict is unhashable)
    supers: dict[str, frozenset[int]] = field(compare=False)
    super_keys: frozenset[str]  # the longer keywords alone, to test "any of them found?" in C
    # The result when this keyword is the only one found (possibly repeated), decided at load
    # time: one (without question, with question, question matters) triple for a hit in the
    # first sentence and one for a hit after it; None where the result depends on more than
    # that (a report, or a word with flags), so the message takes the full path.
    solo: tuple[Solo, Solo] | None = None
    # a number (12345, 110): counts only standing alone, not inside a longer digit string
    # such as a phone number
    digits: bool = False


@dataclass(frozen=True, slots=True)
class Compiled:
    """Immutable matching state built from one RuleSet."""

    automaton: Utf8Automaton[KeyInfo]
    # the keywords that can make a report on their own, and every character normalising
    # would change (Normaliser.special_chars): a text holding none of them is not a report
    gate: Utf8Automaton[bool]
    gate_iter: Callable[[str], Iterator[object]]  # gate.iterator(), for the fast exit
    prefilter: bool  # every trigger keyword is letters, digits and ideographs only
    paths: tuple[tuple[str, ...], ...]
    path_first: tuple[str, ...]  # first level of each path
    # each path index's weight when choosing the leaf: FIELD_LEAF_FACTOR for the paths of
    # field-vocabulary lines (FIELD_FILES), 1.0 otherwise; a path tuple can have one of each
    path_leaf: tuple[float, ...]
    path_names: tuple[str, ...]  # each path joined with "/"
    place_pattern: PlacePattern
    strip_prefixes: tuple[str, ...]
    negators: tuple[str, ...]  # as utf8() strings
    question_ends: tuple[str, ...]
    files: tuple[str, ...]
    keywords: frozenset[str]
    gazetteer: Utf8Automaton[str]  # known place names, consulted only for reports
    digit_keys: bool  # some keyword is a number (KeyInfo.digits)
    # leaves dispatchers often take for one another (neighbours.txt), offered as alternatives
    neighbours: dict[tuple[str, ...], tuple[tuple[str, ...], ...]]
    # fullmatch of a text made only of greetings, thanks, emoji, punctuation (smalltalk.txt)
    small_talk: Callable[[str], object]


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
        self._special = normaliser.special_search

    @classmethod
    def load(
        cls,
        rules_dir: Path | None = None,
        extra_dirs: Sequence[Path] = (),
        user_dict: Path | None = None,
    ) -> Extractor:
        """Read, validate and compile the rule files; raises RuleFileError on a bad file."""
        sources = (rules_dir or SHIPPED_RULES, tuple(extra_dirs), user_dict)
        normaliser = Normaliser.load()
        return cls(_compile(*sources, normaliser.special_chars), normaliser, sources)

    def with_lines(self, added: Sequence[Entry]) -> Extractor:
        """A new extractor with these rule lines added to the same files (for trying a change)."""
        return Extractor(
            _compile(*self._sources, self._normalise.special_chars, added),
            self._normalise,
            self._sources,
        )

    def reload(self) -> None:
        """Re-read the same files; on error keep the current rules and raise."""
        self._compiled = _compile(*self._sources, self._normalise.special_chars)

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
            if not isinstance(text, str):
                text = str(text)
            if len(text) > MAX_CHARS:
                text = text[:MAX_CHARS]
            c = self._compiled
            # Fast exit for chit-chat: a text holding no trigger word and no character that
            # normalising would change (the gate) normalises to a text holding no trigger
            # word (normalising then only turns punctuation half-width and removes spaces,
            # punctuation runs, URLs and @mentions), and cannot be a report. Exact, not a guess.
            if c.prefilter:
                encoded = text.encode("utf-8", "surrogatepass").decode("latin-1")
                if next(c.gate_iter(encoded), None) is None:
                    got = NOT_A_REPORT
                elif text.isascii() or not self._special(text):
                    norm = self._normalise.plain(text)
                    got = self._extract(norm, encoded if norm is text else utf8(norm))
                else:
                    got = self._extract(self._normalise(text), None)
            else:
                got = self._extract(self._normalise(text), None)
            # inlined _or_small_talk (one call less per message)
            if got.is_report or len(text) > SMALL_TALK_CHARS or not c.small_talk(text):
                return got
            return SMALL_TALK
        except Exception as exc:  # defensive: a message must never crash the bot
            return _failed(exc)

    def _or_small_talk(self, text: str, got: Extraction) -> Extraction:
        """SMALL_TALK for a non-report made only of greetings, thanks and emoji, else got."""
        if got.is_report or len(text) > SMALL_TALK_CHARS or not self._compiled.small_talk(text):
            return got
        return SMALL_TALK

    def _extract(self, norm: str, encoded: str | None) -> Extraction:
        """Decide a normalised text; encoded is utf8(norm) (None: not yet encoded)."""
        if not norm:
            return NOT_A_REPORT
        if encoded is None:
            encoded = utf8(norm)
        c = self._compiled
        found = c.automaton.ends(encoded)
        if not found:
            return NOT_A_REPORT
        # One keyword found (the common chit-chat case): its result was decided at load time
        # for each thing _decide reads from such a message (first sentence or not; a
        # question ending or "?"), so only those are looked at here. Exact, not a guess.
        end, info = found[0]
        solo = info.solo
        if solo is not None and (len(found) == 1 or (
            found[-1][1] is info and all(h[1] is info for h in found)
        )):
            lead_end = encoded.find(_FULL_STOP)
            no_q, with_q, q_matters = solo[0 if lead_end < 0 or end - info.back < lead_end else 1]
            got = (
                with_q if q_matters and (
                    "?" in norm or norm.rstrip(_TRAILING).endswith(c.question_ends)
                ) else no_q
            )
            if got is not None:
                return got
        return _decide(c, norm, encoded, found)

    def _extract_full(self, norm: str) -> Extraction:
        """_extract without the load-time results for one keyword (the reference in tests)."""
        if not norm:
            return NOT_A_REPORT
        encoded = utf8(norm)
        found = self._compiled.automaton.ends(encoded)
        return _decide(self._compiled, norm, encoded, found) if found else NOT_A_REPORT


_NO_DROP: frozenset[str] = frozenset()
_new = object.__new__
(_set_report, _set_intent, _set_category, _set_urgency, _set_urgent_words, _set_location,
 _set_confidence, _set_explanation, _set_alternatives, _set_small_talk) = [
    getattr(Extraction, name).__set__ for name in Extraction.__slots__
]


def _make(
    is_report: bool, intent: str, category: tuple[str, ...], urgency: str,
    urgent_words: tuple[str, ...], location: str | None, confidence: float,
    explanation: Sequence[str], alternatives: tuple[tuple[str, ...], ...] = (),
) -> Extraction:
    """Extraction(...) without the frozen dataclass's __init__ (one object.__setattr__ per
    field, ~1.2 µs); the slots are set through their descriptors, the result is the same."""
    e = _new(Extraction)
    _set_report(e, is_report)
    _set_intent(e, intent)
    _set_category(e, category)
    _set_urgency(e, urgency)
    _set_urgent_words(e, urgent_words)
    _set_location(e, location)
    _set_confidence(e, confidence)
    _set_explanation(e, explanation)
    _set_alternatives(e, alternatives)
    _set_small_talk(e, False)
    return e


def _nested_topics(hits: list[tuple[int, KeyInfo]]) -> frozenset[str]:
    """Return the keywords found whose category words lie inside a longer category word
    found (小学 in 小学生), so nested words are not counted twice.

    Linear in the hits: each hit looks up only the longer words it can lie in that were
    also found (a set intersection), never every other hit.
    """
    start_of = {info.key: end - info.back for end, info in hits if info.cats}
    found = start_of.keys()
    dropped = []
    for end, info in hits:
        if info.super_keys:
            start = end - info.back
            for other in info.super_keys & found:
                if start - start_of[other] in info.supers[other]:
                    dropped.append(info.key)
                    break
    return frozenset(dropped)


def _first_of_each(found: list[tuple[int, KeyInfo]]) -> list[tuple[int, KeyInfo]]:
    """The hits without repeats: the first occurrence of each keyword."""
    seen: set[str] = set()
    hits = []
    for hit in found:
        if hit[1].key not in seen:
            seen.add(hit[1].key)
            hits.append(hit)
    return hits


def _inside_number(encoded: str, hit: tuple[int, KeyInfo]) -> bool:
    """True if a number keyword's hit has a digit right before or right after it."""
    end = hit[0]
    start = end - hit[1].back
    return (start > 0 and encoded[start - 1].isdigit()) or (
        end + 1 < len(encoded) and encoded[end + 1].isdigit()
    )


def _failed(exc: Exception) -> Extraction:
    return Extraction(False, "其他", (), NORMAL, (), None, 0.0, (f"error: {exc!r}",))


def _decide(c: Compiled, norm: str, encoded: str, found: list[tuple[int, KeyInfo]]) -> Extraction:
    """Turn the keywords found in one message, (end offset, info) each, into an Extraction
    (the first occurrence of each keyword counts)."""
    if c.digit_keys:
        found = [h for h in found if not (h[1].digits and _inside_number(encoded, h))]
        if not found:
            return NOT_A_REPORT
    seen = {hit[1].key for hit in found}
    hits = found if len(seen) == len(found) else _first_of_each(found)
    if len(hits) > MAX_HITS:  # no message names this many keywords: bound the work
        hits = hits[:MAX_HITS]
        seen = {hit[1].key for hit in hits}
    topics: list[tuple[int, KeyInfo]] = []  # the hits with category words
    supers: list[frozenset[str]] = []  # super_keys of the hits that have any
    intents: dict[str, float] = {}
    urgent: list[str] = []
    negated: list[str] = []
    blockers: list[KeyInfo] = []
    cue_score = strongest_cue = 0.0
    talk = False  # a talk marker (negative cue: 通知, 团购, 谢谢 …) fired
    resolved_at = recur_at = -1
    flags = 0
    trigger = False
    for hit in hits:
        info = hit[1]
        if info.trigger:
            trigger = True
        f = info.flags
        if f:
            start = hit[0] - info.back
            if f & _URGENT_BIT:
                if c.negators and any(encoded.endswith(n, 0, start) for n in c.negators):
                    negated.append(info.key)
                    continue
                urgent.append(info.key)
            flags |= f
            if f & _BLOCK_BITS:
                blockers.append(info)
                if f & _RESOLVED_BIT and start > resolved_at:
                    resolved_at = start
            if f & _RECUR_BIT and start > recur_at:
                recur_at = start
        if info.cats:
            topics.append(hit)
            if info.super_keys:
                supers.append(info.super_keys)
        if info.cue:
            cue_score += info.cue
            if info.cue > strongest_cue:
                strongest_cue = info.cue
            elif info.cue < 0:
                talk = True
        for t, w in info.intents:
            intents[t] = intents.get(t, 0.0) + w
    if not trigger:
        return NOT_A_REPORT
    dropped = _NO_DROP
    for longer in supers:
        if not seen.isdisjoint(longer):
            dropped = _nested_topics(hits)
            break
    # The first sentence usually names the topic (a title, or the opening of a message):
    # topic words after it weigh less than those in it.
    lead_end = encoded.find(_FULL_STOP)
    if lead_end < 0:
        lead_end = len(encoded)
    path_scores: dict[int, float] = {}
    firsts: dict[str, float] = {}
    for end, info in topics:
        if dropped and info.key in dropped:
            continue
        k = 1.0 if end - info.back < lead_end else BODY_FACTOR
        one = info.cat1
        if one is not None:  # most topic words name one path (the same sums, fewer loops)
            p, first, w = one
            path_scores[p] = path_scores.get(p, 0.0) + k * w
            firsts[first] = firsts.get(first, 0.0) + k * w
            continue
        for p, w in info.cats:
            path_scores[p] = path_scores.get(p, 0.0) + k * w
        for first, w in info.firsts:
            firsts[first] = firsts.get(first, 0.0) + k * w
    if recur_at > resolved_at >= 0:
        blockers = [b for b in blockers if b.flags & _NOT_REPORT_BIT]

    best_first, cat_score = "", 0.0
    if firsts:
        for first, score in firsts.items():
            if score > cat_score or not best_first:
                best_first, cat_score = first, score
    has_category = cat_score >= CATEGORY_MINIMUM
    # a question ending only matters for a named topic or a 请问-type opener
    asks = (has_category or bool(flags & _ASK_BIT)) and norm.rstrip(_TRAILING).endswith(
        c.question_ends
    )
    question = asks and bool(flags & _ASK_BIT) and strongest_cue < QUESTION_CUE

    detection = cue_score
    if cat_score > 0:
        # a topic counts more when something is said to be wrong with it (a problem cue)
        factor = CATEGORY_FACTOR if strongest_cue < PROBLEM_CUE else PROBLEM_TOPIC_FACTOR
        detection += factor * min(cat_score, CATEGORY_CAP)
    if urgent:
        detection += URGENT_BONUS
    if has_category and (asks or "?" in norm):
        detection += QUESTION_BONUS
    # A resident describing a problem writes sentences about it: a long message naming a
    # topic, with no talk marker, is a report more surely than a short one; more so when a
    # problem word fired. (Two keywords at least, so a one-keyword message never depends on
    # its length.)
    described = 0.0
    if has_category and not talk and len(hits) > 1 and len(norm) >= LONG_CHARS:
        described = LONG_BONUS if strongest_cue >= PROBLEM_CUE else DESCRIBED_BONUS
        detection += described
    evidence = cat_score > 0 or bool(urgent) or cue_score > 0 or bool(intents)
    location = None
    looked = False
    loc_suffix = bool(flags & _LOC_BIT)
    # The place pattern only matters if it could tip the balance, or for a report.
    if loc_suffix and evidence and detection + LOCATION_BONUS >= REPORT_THRESHOLD:
        location = find_location(norm, c.place_pattern, (), c.strip_prefixes)
        looked = True
        if location is not None:
            detection += LOCATION_BONUS

    if question:
        intent = "咨询"
    elif len(intents) == 1:
        intent = next(iter(intents))
    else:
        intent = max(intents.items(), key=_intent_rank)[0] if intents else ""
    praise_only = intent == "表扬" and not urgent
    is_report = (
        detection >= REPORT_THRESHOLD
        and evidence
        and not blockers
        and not question
        and not praise_only
    )
    category: tuple[str, ...] = ()
    alternatives: tuple[tuple[str, ...], ...] = ()
    if has_category:
        category = _best_path(c, path_scores, best_first)
        if len(path_scores) > 1:
            alternatives = _alternatives(c, path_scores, category)
        if len(alternatives) < MAX_ALTERNATIVES and category in c.neighbours:
            alternatives = _with_neighbours(alternatives, category, c.neighbours[category])
    if not intent:
        intent = "投诉" if is_report else "其他"
    if not is_report and not blockers and not question and not urgent:
        # The common chit-chat path: a word or two fired, explained in one line.
        return _make(
            False, intent, category, NORMAL, (), location,
            0.8 if praise_only else (
                round(REPORT_THRESHOLD / (detection + REPORT_THRESHOLD), 3)
                if detection > 0 else 1.0
            ),
            Explanation(_explain_chat, (detection, hits, described)), alternatives,
        )
    if is_report and location is None:
        if loc_suffix and not looked:
            location = find_location(norm, c.place_pattern, (), c.strip_prefixes)
        if location is None:
            location = _known_place(c, encoded)
    # confidence that the decision is right: for a report, how far the evidence is above
    # the threshold (0.5 at the threshold); the category's certainty is in alternatives
    strength = detection / (detection + REPORT_THRESHOLD) if detection > 0 else 0.0
    if is_report:
        confidence = strength
    else:
        confidence = 1.0 - strength if not blockers and not question and not praise_only else 0.8
    explanation = Explanation(_explain, (
        hits, dropped, (category, best_first, cat_score, len(firsts)), urgent, negated, blockers,
        question, praise_only and detection >= REPORT_THRESHOLD, intent, detection, is_report,
        described,
    ))
    return _make(
        is_report, intent, category, URGENT if urgent else NORMAL, tuple(urgent), location,
        round(min(max(confidence, 0.0), 1.0), 3), explanation, alternatives,
    )


def _best_path(c: Compiled, path_scores: dict[int, float], first: str) -> tuple[str, ...]:
    """The best-scoring path under the winning first level (deeper paths preferred; field
    words weigh FIELD_LEAF_FACTOR here)."""
    if len(path_scores) == 1:  # the common case: one path fired
        for i, v in path_scores.items():
            if v > 0 and c.path_first[i] == first:
                return c.paths[i]
        return (first,)
    merged: dict[tuple[str, ...], float] = {}
    for i, v in path_scores.items():
        if v > 0 and c.path_first[i] == first:
            p = c.paths[i]
            merged[p] = merged.get(p, 0.0) + v * c.path_leaf[i]
    best: tuple[bool, float, int] | None = None
    best_path: tuple[str, ...] = (first,)
    for p, v in merged.items():
        rank = (len(p) > 1, v, len(p))
        if best is None or rank > best:
            best, best_path = rank, p
    return best_path


def _alternatives(
    c: Compiled, path_scores: dict[int, float], category: tuple[str, ...]
) -> tuple[tuple[str, ...], ...]:
    """The next best scoring leaf paths after category, best first (up to MAX_ALTERNATIVES)."""
    merged: dict[tuple[str, ...], float] = {}
    for i, v in path_scores.items():
        p = c.paths[i]
        if v > 0 and p != category and len(p) > 1:
            merged[p] = merged.get(p, 0.0) + v * c.path_leaf[i]
    ranked = sorted(merged.items(), key=_by_score, reverse=True)
    return tuple(p for p, _ in ranked[:MAX_ALTERNATIVES])


def _by_score(item: tuple[tuple[str, ...], float]) -> tuple[float, tuple[str, ...]]:
    return item[1], item[0]


def _with_neighbours(
    alternatives: tuple[tuple[str, ...], ...],
    category: tuple[str, ...],
    neighbours: tuple[tuple[str, ...], ...],
) -> tuple[tuple[str, ...], ...]:
    """Fill the alternatives up with the leaves often confused with category (neighbours.txt)."""
    out = list(alternatives)
    for n in neighbours:
        if len(out) >= MAX_ALTERNATIVES:
            break
        if n != category and n not in out:
            out.append(n)
    return tuple(out)


def _intent_rank(item: tuple[str, float]) -> tuple[float, int]:
    return item[1], -INTENTS.index(item[0])


def _known_place(c: Compiled, encoded: str) -> str | None:
    return max(c.gazetteer.found_values(encoded), key=len, default=None)


def _explain_chat(
    detection: float, hits: list[tuple[int, KeyInfo]], described: float = 0.0
) -> tuple[str, ...]:
    """The line explaining chit-chat in which a word or two fired (and a topic described)."""
    line = (
        f"detection {detection:.1f} < {REPORT_THRESHOLD:g}: not a report (fired: "
        + " ".join([info.key for _, info in hits]) + ")"
    )
    if described:
        return (f"a topic described at length (>= {LONG_CHARS} characters): +{described:g}", line)
    return (line,)


def _explain(
    hits: list[tuple[int, KeyInfo]],
    dropped: frozenset[str],
    topic: tuple[tuple[str, ...], str, float, int],
    urgent: list[str],
    negated: list[str],
    blockers: list[KeyInfo],
    question: bool,
    praise: bool,
    intent: str,
    detection: float,
    is_report: bool,
    described: float = 0.0,
) -> tuple[str, ...]:
    """List the rules that fired, with the file and line each came from.

    Every per-keyword line is a string built at load time (KeyInfo.cat_lines, .cue_line);
    topic is (category, its first level, that level's score, how many levels scored).
    """
    category, best_first, cat_score, n_scored = topic
    out: list[str] = [f"negated: '{k}'" for k in negated] if negated else []
    intent_words: list[str] = []
    for _, info in hits:
        if negated and info.key in negated:
            continue
        if info.lines:
            if dropped and info.key in dropped:
                if info.cue_line:
                    out.append(info.cue_line)
            else:
                out.extend(info.lines)
        if info.intents and not question:
            for t, _ in info.intents:
                if t == intent:
                    intent_words.append(info.key)
                    break
    if category:
        out.append(
            f"category {'/'.join(category)} (first level {best_first} {cat_score:+.1f}"
            f" of {n_scored} scored)"
        )
    if urgent:
        out.append("urgent: " + " ".join(urgent))
    if question:
        out.append("question form (请问…吗): a consultation, not a report")
    elif intent_words:
        out.append(f"intent {intent}: " + " ".join(intent_words))
    for b in blockers:
        for a in b.actions:
            if a.kind == RESOLVED:
                out.append(f"already resolved: '{b.key}' ({a.source})")
            elif a.kind == NOT_REPORT:
                out.append(f"negated by: '{b.key}' ({a.source})")
    if praise:
        out.append("praise: not a report")
    if described:
        what = "a problem" if described == LONG_BONUS else "a topic"
        out.append(f"{what} described at length (>= {LONG_CHARS} characters): +{described:g}")
    out.append(
        f"detection {detection:.1f} >= {REPORT_THRESHOLD:g}: report" if is_report
        else f"detection {detection:.1f} {'>=' if detection >= REPORT_THRESHOLD else '<'} "
        f"{REPORT_THRESHOLD:g}: not a report"
    )
    return tuple(out)


def _compile(
    rules_dir: Path,
    extra_dirs: tuple[Path, ...],
    user_dict: Path | None,
    special: frozenset[str],
    added: Sequence[Entry] = (),
) -> Compiled:
    """Read every file and build the automaton (the only place that does I/O); added lines
    (a proposed change being tried) join the files' lines: a category path section goes to
    the categories, any other section to cues.txt."""
    rules = read_rules([rules_dir, *extra_dirs])
    for e in added:
        if "/" in e.section:
            rules.categories.append(e)
        else:
            rules.by_concern.setdefault("cues.txt", []).append(e)
    table: dict[str, list[Action]] = {}
    paths: list[tuple[str, ...]] = []
    path_leaf: list[float] = []
    path_index: dict[tuple[tuple[str, ...], bool], int] = {}

    def add(key: str, action: Action) -> None:
        for variant in {key, key.lower(), key.upper()}:
            table.setdefault(variant, []).append(action)

    primary = rules_dir.resolve()
    for e in rules.categories:
        path = tuple(e.section.split("/"))
        source = Path(e.file)
        field = source.name in FIELD_FILES and source.parent.parent.resolve() == primary
        if (path, field) not in path_index:
            path_index[(path, field)] = len(paths)
            paths.append(path)
            path_leaf.append(FIELD_LEAF_FACTOR if field else 1.0)
        add(e.key, Action(CAT, path_index[(path, field)], e.weight, _where(e)))
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
    gazetteer = Utf8Automaton((name, name) for name in places)
    for key in [k for k, acts in table.items() if all(a.kind == PLACE for a in acts)]:
        del table[key]
    for e in rules.section("synonyms.txt", "同义词"):
        target = e.target or ""
        if target not in table:
            raise RuleFileError(e.file, e.line, f"「{target}」不是任何规则文件中的关键词")
        for variant in {e.key, e.key.lower(), e.key.upper()}:
            table.setdefault(variant, []).extend(
                Action(a.kind, a.target, a.weight, f"{a.source} via {e.key}=>{target}")
                for a in table[target]
            )
    infos = _key_infos(table, paths)
    place_suffixes = [e.key for e in rules.section("location.txt", "地名后缀")]
    building_suffixes = [e.key for e in rules.section("location.txt", "楼栋后缀")]
    if not place_suffixes or not building_suffixes:
        raise RuleFileError(
            "location.txt", 0, "须有非空的 [地名后缀] 和 [楼栋后缀] 分节"
        )
    negators = [e.key for e in rules.section("urgency.txt", "否定词")]
    question_ends = [e.key for e in rules.section("negation.txt", "问句结尾")]
    gate = Utf8Automaton(
        [(k, True) for k, info in infos.items() if info.trigger] + [(ch, False) for ch in special]
    )
    draft = Compiled(
        automaton=Utf8Automaton(()),
        paths=tuple(paths),
        gate=gate,
        gate_iter=gate.iterator(),
        prefilter=all(k.isalnum() for k, info in infos.items() if info.trigger),
        path_first=tuple(p[0] for p in paths),
        path_leaf=tuple(path_leaf),
        path_names=tuple("/".join(p) for p in paths),
        place_pattern=compile_pattern(place_suffixes, building_suffixes),
        strip_prefixes=tuple(e.key for e in rules.section("location.txt", "去除前缀")),
        negators=tuple(utf8(n) for n in sorted(negators, key=len, reverse=True)),
        question_ends=tuple(question_ends) or ("吗",),
        files=tuple(rules.files),
        keywords=frozenset(table),
        gazetteer=gazetteer,
        digit_keys=any(info.digits for info in infos.values()),
        neighbours=_neighbours(rules.section("neighbours.txt", "相近类别"), rules.taxonomy_paths),
        small_talk=_small_talk_pattern(
            [e.key for e in rules.section("smalltalk.txt", "寒暄")]
        ).fullmatch,
    )
    infos = {key: replace(info, solo=_solo(draft, info)) for key, info in infos.items()}
    return replace(draft, automaton=Utf8Automaton(infos.items()))


def _neighbours(
    entries: list[Entry], taxonomy: frozenset[str]
) -> dict[tuple[str, ...], tuple[tuple[str, ...], ...]]:
    """Each leaf's neighbours in file order; both sides must be rows of the taxonomy."""
    out: dict[tuple[str, ...], list[tuple[str, ...]]] = {}
    for e in entries:
        for path in (e.key, e.target or ""):
            if path not in taxonomy:
                raise RuleFileError(e.file, e.line, f"「{path}」不是分类表中最末一级的分类")
        out.setdefault(tuple(e.key.split("/")), []).append(tuple((e.target or "").split("/")))
    return {k: tuple(v) for k, v in out.items()}


def _small_talk_pattern(words: list[str]) -> re.Pattern[str]:
    """Texts made only of small-talk words, non-word characters, digits and [表情] codes."""
    alternatives = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    # the lookahead on the words' first characters fails fast before the alternation; the
    # possessive *+ never backtracks (哈哈哈… can be split many ways: exponential otherwise)
    firsts = "".join(sorted({re.escape(c) for w in words for c in (w[0].lower(), w[0].upper())}))
    words_part = f"|(?=[{firsts}])(?:{alternatives})" if words else ""
    return re.compile(r"(?:\[[^\[\]]{1,8}\]|[\W_\d]" + words_part + ")*+", re.IGNORECASE)


_NEUTRAL = "甲"  # a stand-in message body: no keyword is looked for in it, only its shape


def _solo(c: Compiled, info: KeyInfo) -> tuple[Solo, Solo] | None:
    """Decide, at load time, every message in which info's keyword is the only one found.

    For a keyword without flags (no urgency, negation, question opener or place suffix),
    _decide reads only two things from such a message: whether the hit lies in the first
    sentence, and whether the message ends as a question or holds a "?". Each combination is
    decided here by _decide itself on a stand-in text of that shape; a report (which also
    looks for a place) is left as None for the full path.
    """
    if info.flags or info.digits or _NEUTRAL.endswith(c.question_ends) or _NEUTRAL in _TRAILING:
        return None
    if not info.trigger:  # _extract returns NOT_A_REPORT before deciding
        nothing: Solo = (NOT_A_REPORT, NOT_A_REPORT, False)
        return nothing, nothing
    cases: list[Solo] = []
    for prefix in ("", "。"):  # hit in the first sentence, hit after it
        start = len(utf8(prefix))
        no_q, with_q = (
            _decide(c, text, utf8(text), [(start + info.back, info)])
            for text in (prefix + _NEUTRAL, prefix + _NEUTRAL + "?")
        )
        cases.append((
            None if no_q.is_report else no_q,
            None if with_q.is_report else with_q,
            no_q != with_q,
        ))
    return cases[0], cases[1]


def _key_infos(
    table: dict[str, list[Action]], paths: list[tuple[str, ...]]
) -> dict[str, KeyInfo]:
    """Fold each keyword's actions into one KeyInfo (sums, flags, nesting)."""
    by_char: dict[str, list[str]] = {}
    for k, acts in table.items():
        if any(a.kind == CAT for a in acts):
            for ch in set(k):
                by_char.setdefault(ch, []).append(k)
    infos: dict[str, KeyInfo] = {}
    for key, raw in table.items():
        actions = tuple(_labelled(key, a) for a in sorted(raw, key=_urgent_first))
        cats: dict[int, float] = {}
        intents: dict[str, float] = {}
        cue = 0.0
        flags = 0
        for a in actions:
            if a.kind == CAT:
                cats[int(a.target)] = cats.get(int(a.target), 0.0) + a.weight
            elif a.kind == CUE:
                cue += a.weight
            elif a.kind == INTENT:
                intents[str(a.target)] = intents.get(str(a.target), 0.0) + a.weight
            else:
                flags |= 1 << a.kind
        trigger = (
            any(a.kind == CAT and a.weight > 0 for a in actions)
            or cue > 0
            or bool(intents)
            or bool(flags & (_URGENT_BIT | _ASK_BIT))
        )
        supers: dict[str, frozenset[int]] = {}
        if cats and not flags & _URGENT_BIT:  # urgent words keep their topic when nested
            supers = {
                longer: frozenset(_offsets(longer, key))
                for longer in by_char.get(key[0], ())
                if len(longer) > len(key) and key in longer
            }
        cue_actions = [a for a in actions if a.kind == CUE]
        per_first: dict[str, float] = {}
        for p, w in cats.items():
            per_first[paths[p][0]] = per_first.get(paths[p][0], 0.0) + w
        cat_lines = tuple(
            f"category {'/'.join(paths[int(a.target)])}: {a.label}"
            for a in actions if a.kind == CAT
        )
        cue_line = "report cue: " + " ".join(a.label for a in cue_actions) if cue_actions else ""
        infos[key] = KeyInfo(
            key, len(utf8(key)) - 1, actions, tuple(cats.items()), tuple(per_first.items()),
            next(((p, paths[p][0], w) for p, w in cats.items()), None) if len(cats) == 1 else None,
            cat_lines, cue_line, (*cat_lines, cue_line) if cue_line else cat_lines,
            cue, tuple(intents.items()), flags, trigger, supers, frozenset(supers),
            digits=key.isascii() and key.isdigit(),
        )
    return infos


def _offsets(longer: str, key: str) -> list[int]:
    """Byte offsets of key inside longer (UTF-8), as the automaton reports positions."""
    big, small = utf8(longer), utf8(key)
    return [i for i in range(len(big) - len(small) + 1) if big.startswith(small, i)]


def _urgent_first(a: Action) -> bool:
    return a.kind != URGENT_WORD


def _labelled(key: str, a: Action) -> Action:
    label = f"{key}{a.weight:+g} ({a.source})" if a.kind == CAT else f"{key}{a.weight:+g}"
    return Action(a.kind, a.target, a.weight, a.source, label)


def _where(e: Entry) -> str:
    return f"{Path(e.file).name}:{e.line}"
