"""Propose candidate keywords per category from labelled data, with evidence, for review."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from nlp.dataset import NEGATIVE_LABELS, Row
from nlp.extractor import Extractor

_WORD = re.compile(r"^[\u4e00-\u9fff]{2,6}$")
# tokens that say nothing about a topic (kept short on purpose; reviewers drop the rest)
_STOP_WORDS = (
    "我们 你们 他们 没有 什么 怎么 可以 这个 那个 一个 现在 已经 还是 "
    "但是 因为 所以 如果 希望 问题 领导 政府 部门 相关 有关 请问 关于 "
    "反映 要求 情况 进行 工作 是否 为何 为什么 能否 何时 如何 解决 处理 "
    "请求 恳请 建议 咨询 投诉 举报 尊敬 您好 谢谢 市民 群众 百姓 老百姓 "
    "本人 自己 一直 至今 目前 今年 去年 时间 原因 由于 而且 并且 或者 "
    "以及 这样 那么"
)
_STOP = frozenset(_STOP_WORDS.split())


@dataclass(frozen=True, slots=True)
class Candidate:
    """A proposed keyword with the evidence a reviewer needs."""

    category: str
    word: str
    support: int  # labelled messages of this category containing the word
    precision: float  # share of messages containing the word that have this category
    fixes: int  # messages of this category the current rules get wrong that contain it
    negatives: int  # unlabelled non-report messages containing it
    weight: float
    examples: tuple[str, ...]


def suggest(
    extractor: Extractor,
    rows: Sequence[Row],
    negatives: Sequence[str] = (),
    min_support: int = 5,
    min_precision: float = 0.6,
    top: int = 30,
    user_dict: Path | None = None,
) -> list[Candidate]:
    """Rank words that mark a category and are not yet in the rules."""
    import jieba  # only this offline command tokenises with jieba

    jieba.setLogLevel(60)
    if user_dict is not None:
        jieba.load_userdict(str(user_dict))
    known = extractor.keywords()
    doc_words: list[set[str]] = []
    for row in rows:
        text = extractor.normalise(row.text)
        doc_words.append({w for w in jieba.lcut(text) if _WORD.match(w) and w not in _STOP})
    df: Counter[str] = Counter()
    df_label: dict[str, Counter[str]] = defaultdict(Counter)
    missed: dict[str, Counter[str]] = defaultdict(Counter)
    examples: dict[tuple[str, str], list[str]] = defaultdict(list)
    for row, words in zip(rows, doc_words, strict=True):
        label = row.label or "-"
        if label in NEGATIVE_LABELS:
            continue
        got = extractor.extract(row.text).category
        wrong = not got or got[0] != label
        for w in words:
            df[w] += 1
            df_label[label][w] += 1
            if wrong:
                missed[label][w] += 1
            if len(examples[(label, w)]) < 3:
                examples[(label, w)].append(row.id)
    neg_counts: Counter[str] = Counter()
    if negatives:
        import ahocorasick

        automaton = ahocorasick.Automaton()
        for w in df:
            automaton.add_word(w, w)
        automaton.make_automaton()
        for text in negatives:
            neg_counts.update({w for _, w in automaton.iter(text)})
    out: list[Candidate] = []
    for label, counts in sorted(df_label.items()):
        ranked: list[Candidate] = []
        for word, support in counts.items():
            if support < min_support or word in known:
                continue
            precision = support / df[word]
            if precision < min_precision:
                continue
            weight = round(1.0 + 4.0 * (precision - min_precision) / (1 - min_precision)) / 2
            ranked.append(
                Candidate(label, word, support, precision, missed[label][word],
                          neg_counts[word], max(weight, 0.5), tuple(examples[(label, word)]))
            )
        ranked.sort(key=lambda c: (c.fixes * c.precision, c.support), reverse=True)
        out.extend(ranked[:top])
    return out


def format_candidates(candidates: Sequence[Candidate]) -> str:
    """Render candidates as rule-file lines with their evidence in comments."""
    lines: list[str] = []
    current = None
    for c in candidates:
        if c.category != current:
            current = c.category
            lines.append(f"\n[{c.category}]")
        lines.append(
            f"{c.word} {c.weight:g}    # {c.support} msgs, {c.precision:.0%} {c.category}, "
            f"fixes {c.fixes}, in {c.negatives} non-reports; e.g. {', '.join(c.examples)}"
        )
    return "\n".join(lines).strip() + "\n"
