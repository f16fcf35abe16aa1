"""Propose rule changes from labelled examples (residents' messages, staff corrections) and
show what each change would do, on the reference data sets and on the examples themselves.

The examples are rows in the dev_colloquial format (nlp.dialogue.Message): `kind` report or
chatter, and for reports the `category` staff chose. Three kinds of change are proposed, each
one keyword line a person can paste into a rule file:
- a report the bot stayed silent on: a word common to such reports, as a report cue (+1.5);
- chatter the bot filed or asked about: a word common to such chatter, as a chat cue (-1);
- a report filed under the wrong category: a word common to that category's misfiled
  reports, as a keyword of the category staff chose (+2).
Each change is tried alone (Extractor.with_lines) and measured; nothing is written.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from nlp.decision import Decision, decide
from nlp.dialogue import Message, evaluate_messages
from nlp.extractor import Extractor
from nlp.rulefiles import Entry

_WORD = re.compile(r"^[\u4e00-\u9fff]{2,6}$")
_STOP_WORDS = (
    "我们 你们 他们 咱们 大家 没有 什么 怎么 可以 这个 那个 一个 现在 已经 还是 但是 因为 "
    "所以 如果 就是 还有 一下 今天 昨天 明天 时候 这样 那么 知道 觉得 真的 不是 自己 一直"
)
_STOP = frozenset(_STOP_WORDS.split())
CUE_SECTION = "报告线索"
SOURCE = "suggested"

Figures = dict[str, Any]
Check = Callable[[Extractor], Figures]


@dataclass(frozen=True, slots=True)
class Change:
    """One proposed keyword line: the section it goes in, the word, its weight, and why."""

    section: str  # a category path, or 报告线索 (cues.txt)
    word: str
    weight: float
    why: str  # "missed reports" | "chatter interrupted" | "wrong category"
    support: int  # examples of that kind holding the word
    examples: tuple[str, ...] = ()  # ids of up to 3 of them, to read

    @property
    def line(self) -> str:
        """The rule-file line, with its section."""
        file = "cues.txt" if self.section == CUE_SECTION else "categories/*.txt"
        return f"[{self.section}] {self.word} {self.weight:g}   # {file}"

    def entry(self) -> Entry:
        """The change as a rule line the extractor can compile."""
        return Entry(SOURCE, 0, self.section, self.word, self.weight)


def propose(
    extractor: Extractor,
    examples: Sequence[Message],
    min_support: int = 2,
    top: int = 10,
    tokenise: Callable[[str], list[str]] | None = None,
) -> list[Change]:
    """Words that would fix the examples the current rules get wrong, best first per kind."""
    cut = tokenise or _jieba_words
    known = extractor.keywords()
    missed: Counter[str] = Counter()
    interrupting: Counter[str] = Counter()
    misfiled: dict[str, Counter[str]] = {}
    quiet: Counter[str] = Counter()  # words of examples the rules already get right
    ids: dict[tuple[str, str], list[str]] = {}  # (kind of change, word) -> example ids
    for m in examples:
        got = extractor.extract(m.text)
        decided = decide(got, m.channel)
        words = {w for w in cut(extractor.normalise(m.text)) if _WORD.match(w) and w not in _STOP}
        kinds: list[str] = []
        if m.kind == "report" and decided == Decision.SILENT:
            missed.update(words)
            kinds.append("missed reports")
        elif m.kind == "chatter" and decided != Decision.SILENT:
            interrupting.update(words)
            kinds.append("chatter interrupted")
        else:
            quiet.update(words)
        if m.kind == "report" and m.category and got.category != m.category:
            misfiled.setdefault("/".join(m.category), Counter()).update(words)
            kinds.append("/".join(m.category))
        for kind in kinds:
            for w in words:
                ids.setdefault((kind, w), []).append(m.id)
    out: list[Change] = []
    out += _ranked(missed, interrupting, known, CUE_SECTION, 1.5, "missed reports",
                   min_support, top)
    out += _ranked(interrupting, missed, known, CUE_SECTION, -1.0, "chatter interrupted",
                   min_support, top)
    for path, counts in sorted(misfiled.items()):
        out += _ranked(counts, Counter(), frozenset(), path, 2.0, "wrong category",
                       min_support, top)
    return [
        replace(c, examples=tuple(
            ids.get((c.section if c.why == "wrong category" else c.why, c.word), [])[:3]
        ))
        for c in out
    ]


def _ranked(
    counts: Counter[str], against: Counter[str], known: frozenset[str], section: str,
    weight: float, why: str, min_support: int, top: int,
) -> list[Change]:
    ranked = [
        (n - against[w], n, w) for w, n in counts.items()
        if n >= min_support and w not in known and n > against[w]
    ]
    ranked.sort(reverse=True)
    return [Change(section, w, weight, why, n) for _, n, w in ranked[:top]]


def _jieba_words(text: str) -> list[str]:
    import jieba  # only this offline command tokenises with jieba

    jieba.setLogLevel(60)
    return list(jieba.lcut(text))


def messages_check(messages: Sequence[Message]) -> Check:
    """A check measuring the issue-9 figures on residents' messages (or examples)."""
    return lambda x: evaluate_messages(x.extract, messages)


def measure(
    extractor: Extractor, changes: Sequence[Change], checks: dict[str, Check]
) -> list[tuple[Change | None, dict[str, Figures]]]:
    """Run every check with the current rules (change None), then with each change alone."""
    out: list[tuple[Change | None, dict[str, Figures]]] = [
        (None, {name: check(extractor) for name, check in checks.items()})
    ]
    for change in changes:
        tried = extractor.with_lines([change.entry()])
        out.append((change, {name: check(tried) for name, check in checks.items()}))
    return out


SHOWN = (
    "group.chatter_ticket_rate", "group.chatter_prompt_rate", "group.report_caught_rate",
    "group.report_ticket_rate", "private.report_caught_rate", "category.macro_f1",
    "category.leaf_top1", "urgency.recall", "macro_f1", "group.flagged_rate",
)


def format_effects(results: list[tuple[Change | None, dict[str, Figures]]]) -> str:
    """Each change with the figures that moved against the current rules (for review)."""
    if not results:
        return ""
    base = results[0][1]
    lines = ["# current rules:"]
    for name, figures in base.items():
        shown = ", ".join(
            f"{k} {figures[k]:.3f}" for k in SHOWN if isinstance(figures.get(k), float)
        )
        lines.append(f"#   {name}: {shown}")
    for change, figures in results[1:]:
        assert change is not None
        moved = []
        for name, now in figures.items():
            for k in SHOWN:
                a, b = base[name].get(k), now.get(k)
                if isinstance(a, float) and isinstance(b, float) and abs(b - a) >= 0.0005:
                    moved.append(f"{name} {k} {a:.3f}→{b:.3f}")
        lines.append(
            f"{change.line}   ({change.why}: in {change.support} examples, e.g. "
            f"{' '.join(change.examples) or '-'})\n"
            f"    {'; '.join(moved) if moved else 'no figure moves'}"
        )
    return "\n".join(lines)



def checks_on(data: dict[str, object], examples: Sequence[Message]) -> dict[str, Check]:
    """The checks for format_effects: the reference data sets given, then the examples.

    data maps a name to messages (a list of Message) or to (rows, labelled) as
    nlp.dataset.read_rows returns them (formal appeals, chit-chat).
    """
    from nlp.evaluate import evaluate

    checks: dict[str, Check] = {}
    for name, value in data.items():
        if isinstance(value, list):
            checks[name] = messages_check(value)
        elif isinstance(value, tuple):
            checks[name] = _rows_check(evaluate, *value)
    checks["examples"] = messages_check(examples)
    return checks


def _rows_check(evaluate: Callable[..., Figures], rows: object, labelled: object) -> Check:
    return lambda x: evaluate(x, rows, labelled)
