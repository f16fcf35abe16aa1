"""Detection: is a message a report? The keywords found become a score, an intent, urgency."""

from __future__ import annotations

from collections.abc import Sequence

from nlp.category import CATEGORY_MINIMUM, best_first, choose, nested_topics, score_topics
from nlp.compiled import (
    ASK_BIT,
    BLOCK_BITS,
    FULL_STOP,
    LOC_BIT,
    NOT_REPORT,
    NOT_REPORT_BIT,
    RECUR_BIT,
    RESOLVED,
    RESOLVED_BIT,
    TRAILING,
    URGENT_BIT,
    Compiled,
    KeyInfo,
)
from nlp.location import find_location
from nlp.model import INTENTS, NORMAL, NOT_A_REPORT, URGENT, Explanation, Extraction

# Decision constants (documented in docs/NLP.md).
REPORT_THRESHOLD = 2.0  # detection score needed to call a message a report
CATEGORY_FACTOR = 0.3  # share of the topic score counting towards detection (a topic is talk)
PROBLEM_CUE = 1.0  # a cue this strong says something is wrong (坏了, 没人管, 太吵 …)
PROBLEM_TOPIC_FACTOR = 0.7  # the topic's share of detection when such a cue is present
CATEGORY_CAP = 4.0  # category score above this adds nothing more to detection
LOCATION_BONUS = 2.0  # a structured place (…区…小区3栋) was mentioned
URGENT_BONUS = 1.5
QUESTION_BONUS = 0.3  # a question (？/吗) about a named topic
QUESTION_CUE = 1.5  # a 请问…吗 question holding one cue this strong (拖欠, 违法…) is a report
LONG_CHARS = 40  # a message this long that names a topic (and no talk marker) describes it
LONG_BONUS = 1.0  # ... a described problem (a problem cue fired) counts this much more
DESCRIBED_BONUS = 0.5  # ... a described topic without a problem cue, this much more
MAX_HITS = 400  # distinct keywords read per message (a real one holds a few dozen at most)

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


def first_of_each(found: list[tuple[int, KeyInfo]]) -> list[tuple[int, KeyInfo]]:
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


def decide_hits(
    c: Compiled, norm: str, encoded: str, found: list[tuple[int, KeyInfo]]
) -> Extraction:
    """Turn the keywords found in one message, (end offset, info) each, into an Extraction
    (the first occurrence of each keyword counts)."""
    if c.digit_keys:
        found = [h for h in found if not (h[1].digits and _inside_number(encoded, h))]
        if not found:
            return NOT_A_REPORT
    seen = {hit[1].key for hit in found}
    hits = found if len(seen) == len(found) else first_of_each(found)
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
            if f & URGENT_BIT:
                if c.negators and any(encoded.endswith(n, 0, start) for n in c.negators):
                    negated.append(info.key)
                    continue
                urgent.append(info.key)
            flags |= f
            if f & BLOCK_BITS:
                blockers.append(info)
                if f & RESOLVED_BIT and start > resolved_at:
                    resolved_at = start
            if f & RECUR_BIT and start > recur_at:
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
            dropped = nested_topics(hits)
            break
    # The first sentence usually names the topic (a title, or the opening of a message):
    # topic words after it weigh less than those in it.
    lead_end = encoded.find(FULL_STOP)
    if lead_end < 0:
        lead_end = len(encoded)
    path_scores, firsts = score_topics(topics, dropped, lead_end)
    if recur_at > resolved_at >= 0:
        blockers = [b for b in blockers if b.flags & NOT_REPORT_BIT]

    top_first, cat_score = best_first(firsts) if firsts else ("", 0.0)
    has_category = cat_score >= CATEGORY_MINIMUM
    # a question ending only matters for a named topic or a 请问-type opener
    asks = (has_category or bool(flags & ASK_BIT)) and norm.rstrip(TRAILING).endswith(
        c.question_ends
    )
    question = asks and bool(flags & ASK_BIT) and strongest_cue < QUESTION_CUE

    detection = cue_score
    passing = False
    if cat_score > 0:
        # a topic counts more when something is said to be wrong with it (a problem cue),
        # unless a talk marker (通知, 哈哈, 谢谢 …) says the problem word is used in passing
        passing = talk and strongest_cue >= PROBLEM_CUE
        factor = (
            CATEGORY_FACTOR if strongest_cue < PROBLEM_CUE or passing else PROBLEM_TOPIC_FACTOR
        )
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
    loc_suffix = bool(flags & LOC_BIT)
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
        category, alternatives = choose(c, path_scores, top_first)
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
            Explanation(_explain_chat, (detection, hits, described, passing)), alternatives,
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
        hits, dropped, (category, top_first, cat_score, len(firsts)), urgent, negated, blockers,
        question, praise_only and detection >= REPORT_THRESHOLD, intent, detection, is_report,
        described, passing,
    ))
    return _make(
        is_report, intent, category, URGENT if urgent else NORMAL, tuple(urgent), location,
        round(min(max(confidence, 0.0), 1.0), 3), explanation, alternatives,
    )


def _intent_rank(item: tuple[str, float]) -> tuple[float, int]:
    return item[1], -INTENTS.index(item[0])


def _known_place(c: Compiled, encoded: str) -> str | None:
    return max(c.gazetteer.found_values(encoded), key=len, default=None)


def _explain_chat(
    detection: float,
    hits: list[tuple[int, KeyInfo]],
    described: float = 0.0,
    passing: bool = False,
) -> tuple[str, ...]:
    """The line explaining chit-chat in which a word or two fired (and a topic described)."""
    line = (
        f"detection {detection:.1f} < {REPORT_THRESHOLD:g}: not a report (fired: "
        + " ".join([info.key for _, info in hits]) + ")"
    )
    out = [PASSING_LINE] if passing else []
    if described:
        out.append(f"a topic described at length (>= {LONG_CHARS} characters): +{described:g}")
    return (*out, line)


PASSING_LINE = (
    f"talk marker with a problem word: the problem is mentioned in passing, the topic counts"
    f" {CATEGORY_FACTOR:g}"
)


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
    passing: bool = False,
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
    if passing:
        out.append(PASSING_LINE)
    if described:
        what = "a problem" if described == LONG_BONUS else "a topic"
        out.append(f"{what} described at length (>= {LONG_CHARS} characters): +{described:g}")
    out.append(
        f"detection {detection:.1f} >= {REPORT_THRESHOLD:g}: report" if is_report
        else f"detection {detection:.1f} {'>=' if detection >= REPORT_THRESHOLD else '<'} "
        f"{REPORT_THRESHOLD:g}: not a report"
    )
    return tuple(out)
