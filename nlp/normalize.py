"""Text normalisation before matching: width, script, noise (emoji, URLs, @mentions)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

# Longest input we look at: a Telegram message is at most 4096 characters; the rest is cut.
MAX_CHARS = 4096

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_URL = re.compile(r"(?:https?://|www\.)[^\s\u3000-\u303f\uff00-\uffef\u4e00-\u9fff]*", re.I)
_MENTION = re.compile(r"@[\w.\-]+")
_EMOJI = re.compile(
    "["
    "\U0001f000-\U0001faff"  # pictographs, emoticons, transport, flags, skin tones
    "\u2190-\u21ff\u2300-\u23ff\u25a0-\u27bf\u2900-\u297f\u2b00-\u2bff"
    "\u3030\u303d\u3297\u3299\ufe00-\ufe0f\u200b-\u200f\u2028-\u202f\u2060-\u206f\u20e3"
    "\U000e0000-\U000e007f"
    "]+"
)
_PUNCT_RUN = re.compile(r"[!?.,~…。，、！？；;：:\-—_=*#]{2,}")
_REPEAT_PUNCT = re.compile(r"([!?.,~…。，、！？；;：:\-—_=*#])\1+")
# other compatibility forms (circled digits, ligatures, ideographic variants) for NFKC
_COMPAT = re.compile(r"[\u2460-\u24ff\u3200-\u33ff\uf900-\ufaff\ufb00-\ufb4f\uff61-\uffdc]")
_WIDE = re.compile(r"[\uff01-\uff5e\u3000]")
_WIDE_ALNUM = "\uff10-\uff19\uff21-\uff3a\uff41-\uff5a"  # full-width digits and letters
# any character that needs more than script conversion: one class, one fast scan
_ODD = re.compile(
    "["
    + "".join(p.pattern[1:-1] for p in (_CONTROL, _COMPAT, _WIDE))
    + _EMOJI.pattern[1:-2]
    + "]"
)
# the full-width forms chat actually uses, replaced with str.replace (cheaper than translate)
_COMMON_WIDE = tuple((chr(c), chr(c - 0xFEE0)) for c in map(ord, "，！？：；（）"))
_COMMON_WIDE += (("\u3000", " "),)
_WIDE_TABLE = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}
# characters plain() may replace or remove (full-width forms, whitespace, @mentions): a text
# without them, URLs or punctuation runs is already normal, as most chat messages are
_PLAIN_EDITS = re.compile(r"[\uff01-\uff5e\u3000@\s]")


class Normaliser:
    """Make text comparable with the rule keywords; pure after construction."""

    def __init__(self, t2s: Callable[[str], str] | None, traditional: frozenset[str]) -> None:
        self._t2s = t2s
        self._traditional = (
            re.compile("[" + "".join(sorted(traditional)) + "]") if traditional else None
        )
        # any character whose normalised form is a different letter, digit or ideograph, or
        # whose removal joins its neighbours (emoji, zero-width, control characters)
        self._special = re.compile(
            "["
            + _CONTROL.pattern[1:-1] + _COMPAT.pattern[1:-1] + _EMOJI.pattern[1:-2]
            + _WIDE_ALNUM + "".join(sorted(traditional))
            + "]"
        )
        # is_plain(text) is text.isascii() or not special_search(text); the extractor's fast
        # exit inlines it (one Python call less per message)
        self.special_search = self._special.search
        self.special_chars = _chars_matching(self._special)

    def is_plain(self, text: str) -> bool:
        """True if normalising text changes no letter, digit or ideograph and joins none.

        Normalising a plain text only turns punctuation half-width and removes spaces,
        punctuation runs, URLs and @mentions; every run of letters, digits and ideographs of
        the result is also in the text, so a keyword of those characters found in the
        result is found in the text.
        """
        return text.isascii() or not self._special.search(text)

    @classmethod
    def load(cls) -> Normaliser:
        """Build the converter and the set of characters it would change (I/O here)."""
        try:
            import opencc
        except ImportError:  # pragma: no cover - opencc is a hard dependency
            return cls(None, frozenset())
        converter = opencc.OpenCC("t2s")
        block = [chr(c) for c in range(0x3400, 0x9FFF + 1)]
        converted = converter.convert("\n".join(block)).split("\n")
        changed = frozenset(
            a for a, b in zip(block, converted, strict=False) if a != b and len(b) == 1
        )
        return cls(converter.convert, changed)

    def plain(self, text: str) -> str:
        """Normalise a text for which is_plain() is true (skips the script and noise steps)."""
        if len(text) > MAX_CHARS:
            text = text[:MAX_CHARS]
        if not (
            _PLAIN_EDITS.search(text) or _PUNCT_RUN.search(text)
            or "http" in text or "www" in text or "HTTP" in text or "WWW" in text
        ):
            return text  # the same object: the caller may reuse what it computed from it
        if not text.isascii():
            for wide, half in _COMMON_WIDE:
                if wide in text:
                    text = text.replace(wide, half)
            if _WIDE.search(text):
                text = text.translate(_WIDE_TABLE)
        return self._finish(text)

    def __call__(self, text: str) -> str:
        """Return text in half-width simplified Chinese without emoji, URLs or @mentions."""
        # Every step is guarded by a cheap test: most chat messages need none of them.
        if len(text) > MAX_CHARS:
            text = text[:MAX_CHARS]
        if text.isascii():
            return self._finish(text)
        for wide, half in _COMMON_WIDE:
            if wide in text:
                text = text.replace(wide, half)
        if not _ODD.search(text):
            if self._traditional is not None and self._traditional.search(text):
                text = self._t2s(text) if self._t2s is not None else text
            return self._finish(text)
        if _CONTROL.search(text):
            text = _CONTROL.sub("", text)
        if not text.isascii():
            if _WIDE.search(text):
                text = text.translate(_WIDE_TABLE)
            if _EMOJI.search(text):
                text = _EMOJI.sub("", text)
            if self._traditional is not None and self._traditional.search(text):
                text = self._t2s(text) if self._t2s is not None else text
            if not text.isascii() and _COMPAT.search(text):
                text = unicodedata.normalize("NFKC", text)
        return self._finish(text)

    @staticmethod
    def _finish(text: str) -> str:
        if "http" in text or "www" in text or "HTTP" in text or "WWW" in text:
            text = _URL.sub(" ", text)
        if "@" in text:
            text = _MENTION.sub(" ", text)
        if _PUNCT_RUN.search(text):
            text = _REPEAT_PUNCT.sub(r"\1", text)
        return " ".join(text.split())


# The planes the special characters come from (the class above names no others): the Basic
# Multilingual Plane, the pictographs and the tag characters.
_SPECIAL_PLANES = ((0, 0x10000), (0x1F000, 0x1FB00), (0xE0000, 0xE0080))


def _chars_matching(char_class: re.Pattern[str]) -> frozenset[str]:
    """Every character a one-character class matches (one C scan per plane)."""
    found: set[str] = set()
    for lo, hi in _SPECIAL_PLANES:
        found.update(char_class.findall("".join(map(chr, range(lo, hi)))))
    return frozenset(found)
