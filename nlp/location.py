"""Find the place a message mentions: 小区/楼栋/单元/路/街/村 patterns and known names."""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

# Characters that never belong inside a place name (function words, pronouns).
_NOT_IN_NAME = (
    "的了在我你他她它们是有和与及也就都不没这那个很要去到说把被给对从向让又还吗呢吧啊呀哦嘛"
)
_NUMERAL = r"[0-9A-Za-z一二三四五六七八九十百零〇两]{1,4}"
# jieba place words (tag ns) kept only when they look like an administrative or street name
_JIEBA_KEEP_SUFFIXES = (
    "省", "市", "区", "县", "镇", "乡", "村", "街道", "路", "街", "社区", "小区",
)


def _alternation(words: Iterable[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True))


_MAX_LEAD = 8  # at most this many characters (a name or a numeral) before a first suffix
# a place is looked for in this many characters from the first suffix: a message is short,
# and a 4,096-character wall of suffix characters would otherwise cost milliseconds
_MAX_SPAN = 1024


@dataclass(frozen=True, slots=True)
class PlacePattern:
    """The place regex, run only over the part of a text where a match can lie.

    A match of `pattern` starts with a name (≤ 8 characters) or a numeral (≤ 4) directly
    followed by a suffix, and ends with a suffix. So no match starts more than 8 characters
    before the first suffix character (`anchors`, one C scan) or ends more than `longest`
    characters after the last one; scanning only that span finds the same matches.
    """

    pattern: re.Pattern[str]
    anchors: re.Pattern[str]
    longest: int  # longest suffix, in characters

    def findall(self, text: str) -> list[str]:
        """Return what pattern.findall(text) would, scanning from the first suffix only."""
        first = self.anchors.search(text)
        if first is None:
            return []
        # the last suffix character (searched in the reversed text); a match ends at most
        # `longest` characters after it, and the lookahead reads one more
        back = self.anchors.search(text[::-1])
        last = len(text) - 1 - back.start() if back is not None else first.start()
        start = max(0, first.start() - _MAX_LEAD)
        return self.pattern.findall(text, start, min(last + self.longest + 1, start + _MAX_SPAN))


def compile_pattern(
    place_suffixes: Iterable[str], building_suffixes: Iterable[str]
) -> PlacePattern:
    """Build the regex for '<name><suffix>…<n>栋<n>单元' from the two suffix lists."""
    place_suffixes, building_suffixes = list(place_suffixes), list(building_suffixes)
    name_char = _cjk_class_without(_NOT_IN_NAME)
    name = rf"(?:[A-Z][0-9]{{0,3}}|[0-9]{{1,4}}|{name_char}{{2,8}}?)"
    # a one-character suffix must not start a common word (路灯, 市场, 区别, 村民 …)
    suffixes = sorted(set(place_suffixes))
    firsts = "".join(sorted({re.escape(w[0]) for w in suffixes if w}))
    # the lookahead on the suffixes' first characters fails fast before the alternation
    place = (
        rf"(?:{name}(?=[{firsts}])(?:{_alternation(suffixes)})(?![灯面边过场民域别长委干]))"
    )
    building = rf"(?:{_NUMERAL}(?:{_alternation(building_suffixes)}))"
    starts = {re.escape(w[0]) for w in [*suffixes, *building_suffixes] if w}
    return PlacePattern(
        re.compile(rf"(?:{place}+{building}*|{building}{{1,4}})"),
        re.compile("[" + "".join(sorted(starts)) + "]"),
        max(map(len, [*suffixes, *building_suffixes])),
    )


def _cjk_class_without(excluded: str) -> str:
    """A character class of CJK ideographs minus the excluded ones (faster than lookaheads)."""
    ranges: list[str] = []
    start = 0x4E00
    for code in sorted({ord(ch) for ch in excluded if 0x4E00 <= ord(ch) <= 0x9FFF}):
        if code > start:
            ranges.append(f"{chr(start)}-{chr(code - 1)}" if code - 1 > start else chr(start))
        start = code + 1
    ranges.append(f"{chr(start)}-{chr(0x9FFF)}")
    return "[" + "".join(ranges) + "]"


def find_location(
    text: str, pattern: PlacePattern, places: Iterable[str], strip_prefixes: tuple[str, ...]
) -> str | None:
    """Return the longest pattern match, else the longest known place name, else None."""
    best = ""
    for candidate in pattern.findall(text):
        if candidate.startswith(strip_prefixes):
            for prefix in strip_prefixes:
                if candidate.startswith(prefix) and len(candidate) > len(prefix) + 1:
                    candidate = candidate[len(prefix) :]
        if len(candidate) > len(best) and len(candidate) >= 2:
            best = candidate
    if best:
        return best
    named = max(places, key=len, default="")
    return named or None


def jieba_place_names() -> list[str]:
    """Read jieba's dictionary (without importing jieba); keep its administrative places."""
    spec = importlib.util.find_spec("jieba")
    if spec is None or spec.origin is None:
        return []
    path = Path(spec.origin).parent / "dict.txt"
    if not path.exists():
        return []
    words: set[str] = set()
    with path.open(encoding="utf-8") as f:
        for line in f:
            if line.endswith(" ns\n"):
                words.add(line.split(" ", 1)[0])
    kept = {w for w in words if len(w) >= 3 and w.endswith(_JIEBA_KEEP_SUFFIXES)}
    # bare city / county / province names whose suffixed form is also a place (北京, 七台河)
    kept.update(
        w for w in words if len(w) >= 2 and any(w + s in words for s in ("市", "县", "省"))
    )
    return sorted(kept)
