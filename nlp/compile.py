"""Compile the rule files into one keyword automaton (the only place that does I/O)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from nlp.category import FIELD_FILES, FIELD_LEAF_FACTOR
from nlp.compiled import (
    ASK,
    ASK_BIT,
    CAT,
    CUE,
    INTENT,
    LOC_SUFFIX,
    NOT_REPORT,
    PLACE,
    RECUR,
    RESOLVED,
    TRAILING,
    URGENT_BIT,
    URGENT_WORD,
    Action,
    Compiled,
    KeyInfo,
    Solo,
)
from nlp.detection import decide_hits
from nlp.errors import RuleFileError
from nlp.location import compile_pattern, jieba_place_names
from nlp.matcher import Utf8Automaton, utf8
from nlp.model import INTENTS, NOT_A_REPORT
from nlp.rulefiles import Entry, read_rules, read_user_dict

PLACE_TAGS = frozenset({"ns", "地名", "place", "loc"})


def compile_rules(
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
    decide_hits reads only two things from such a message: whether the hit lies in the first
    sentence, and whether the message ends as a question or holds a "?". Each combination is
    decided here by decide_hits itself on a stand-in text of that shape; a report (which also
    looks for a place) is left as None for the full path.
    """
    if info.flags or info.digits or _NEUTRAL.endswith(c.question_ends) or _NEUTRAL in TRAILING:
        return None
    if not info.trigger:  # _extract returns NOT_A_REPORT before deciding
        nothing: Solo = (NOT_A_REPORT, NOT_A_REPORT, False)
        return nothing, nothing
    cases: list[Solo] = []
    for prefix in ("", "。"):  # hit in the first sentence, hit after it
        start = len(utf8(prefix))
        no_q, with_q = (
            decide_hits(c, text, utf8(text), [(start + info.back, info)])
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
            or bool(flags & (URGENT_BIT | ASK_BIT))
        )
        supers: dict[str, frozenset[int]] = {}
        if cats and not flags & URGENT_BIT:  # urgent words keep their topic when nested
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
