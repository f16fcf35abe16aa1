"""Text normalisation before matching: width, script, noise (emoji, URLs, @mentions)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

# Longest input we look at; Telegram messages are at most 4096 characters.
MAX_CHARS = 8192

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_URL = re.compile(r"(?:https?://|www\.)[^\s\u3000-\u303f\uff00-\uffef\u4e00-\u9fff]*", re.I)
_MENTION = re.compile(r"@[\w.\-]+")
_EMOJI = re.compile(
    "["
    "\U0001f000-\U0001faff"  # pictographs, emoticons, transport, flags, skin tones
    "\u2190-\u21ff\u2300-\u23ff\u2460-\u24ff\u25a0-\u27bf\u2900-\u297f\u2b00-\u2bff"
    "\u3030\u303d\u3297\u3299\ufe00-\ufe0f\u200b-\u200f\u2028-\u202f\u2060-\u206f\u20e3"
    "\U000e0000-\U000e007f"
    "]+"
)
_REPEAT_PUNCT = re.compile(r"([!?.,~…。，、！？；;：:\-—_=*#])\1+")
_SPACE = re.compile(r"\s+")


class Normaliser:
    """Make text comparable with the rule keywords; pure after construction."""

    def __init__(self, t2s: Callable[[str], str] | None, traditional: frozenset[str]) -> None:
        self._t2s = t2s
        self._traditional = traditional

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

    def __call__(self, text: str) -> str:
        """Return text in half-width simplified Chinese without emoji, URLs or @mentions."""
        if len(text) > MAX_CHARS:
            text = text[:MAX_CHARS]
        text = _CONTROL.sub("", text)
        if not text.isascii():
            text = unicodedata.normalize("NFKC", text)
            text = _EMOJI.sub("", text)
            if self._t2s is not None and not self._traditional.isdisjoint(text):
                text = self._t2s(text)
        if "http" in text or "www" in text or "HTTP" in text or "WWW" in text:
            text = _URL.sub(" ", text)
        if "@" in text:
            text = _MENTION.sub(" ", text)
        text = _REPEAT_PUNCT.sub(r"\1", text)
        return _SPACE.sub(" ", text).strip()
