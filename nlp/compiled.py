"""The compiled rules: what each keyword does, folded at load time, and the matching state."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from nlp.location import PlacePattern
from nlp.matcher import Utf8Automaton, utf8
from nlp.model import Extraction

# What a keyword does when it is found.
CAT, INTENT, URGENT_WORD, NOT_REPORT, RESOLVED, RECUR, ASK, CUE, PLACE, LOC_SUFFIX = range(10)
URGENT_BIT = 1 << URGENT_WORD
NOT_REPORT_BIT = 1 << NOT_REPORT
RESOLVED_BIT = 1 << RESOLVED
BLOCK_BITS = NOT_REPORT_BIT | RESOLVED_BIT
RECUR_BIT = 1 << RECUR
ASK_BIT = 1 << ASK
LOC_BIT = 1 << LOC_SUFFIX
FULL_STOP = utf8("。")
TRAILING = " .!?。！？~…,，"


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
