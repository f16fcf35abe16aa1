"""Category scoring: topic words summed per path and first level, the best path, the next best."""

from __future__ import annotations

from nlp.compiled import Compiled, KeyInfo

CATEGORY_MINIMUM = 1.0  # category score needed to name a category
BODY_FACTOR = 0.3  # weight of topic words after the first sentence (fitted on even ids)
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


def nested_topics(hits: list[tuple[int, KeyInfo]]) -> frozenset[str]:
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


def score_topics(
    topics: list[tuple[int, KeyInfo]], dropped: frozenset[str], lead_end: int
) -> tuple[dict[int, float], dict[str, float]]:
    """Sum the topic words found per path and per first level (words after the first
    sentence, which ends at byte lead_end, count BODY_FACTOR; nested words in dropped not)."""
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
    return path_scores, firsts


def best_first(firsts: dict[str, float]) -> tuple[str, float]:
    """The first level with most weight and its score ("", 0.0 when none)."""
    best, cat_score = "", 0.0
    for first, score in firsts.items():
        if score > cat_score or not best:
            best, cat_score = first, score
    return best, cat_score


def choose(
    c: Compiled, path_scores: dict[int, float], first: str
) -> tuple[tuple[str, ...], tuple[tuple[str, ...], ...]]:
    """The category under the winning first level and the next best leaves offered to staff."""
    category = best_path(c, path_scores, first)
    alternatives: tuple[tuple[str, ...], ...] = ()
    if len(path_scores) > 1:
        alternatives = alternatives_of(c, path_scores, category)
    if len(alternatives) < MAX_ALTERNATIVES and category in c.neighbours:
        alternatives = with_neighbours(alternatives, category, c.neighbours[category])
    return category, alternatives


def best_path(c: Compiled, path_scores: dict[int, float], first: str) -> tuple[str, ...]:
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


def alternatives_of(
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


def with_neighbours(
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
