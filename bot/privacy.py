"""Masking of personal data (phone numbers, ID numbers, Telegram ids) before staff see text."""

from __future__ import annotations

import re

# Full-width digits, plus and hyphens, and the other dashes people type between digit groups.
_ASCII = str.maketrans(
    {**{chr(0xFF10 + d): str(d) for d in range(10)}, "＋": "+", "－": "-", "—": "-", "–": "-"}
)
_SEP = r"[-\s.]?"
# A mainland mobile number, with or without +86/0086/86, written whole or in groups
# (139-1234-5678, 139 1234 5678, 8613912345678).
_MOBILE = re.compile(
    rf"(?<![\d])(?:(?:\+|00)?86{_SEP})?(1[3-9]\d){_SEP}(\d{{4}}){_SEP}(\d{{4}})(?!\d)"
)
_LANDLINE = re.compile(r"(?<!\d)(0\d{2,3}[-\s]?)(\d{3,4})[-\s]?(\d{4})(?!\d)")
# Resident ID numbers: 18 characters (last may be X), or the old 15-digit form; spaces allowed
# between the 6-8-4 groups.
_ID_CARD = re.compile(r"(?<![0-9])(\d{6})\s?(\d{8})\s?(\d{3}[\dXx])(?![0-9])")
_OLD_ID_CARD = re.compile(r"(?<![0-9])(\d{6})\d{6}(\d{3})(?![0-9])")


def mask_text(text: str) -> str:
    """Mask mobile, landline and resident ID numbers inside free text (any common format)."""
    text = text.translate(_ASCII)
    text = _ID_CARD.sub(lambda m: f"{m.group(1)}********{m.group(3)[-4:]}", text)
    text = _MOBILE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)
    text = _OLD_ID_CARD.sub(lambda m: f"{m.group(1)}******{m.group(2)}", text)
    return _LANDLINE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)


def mask_id(user_id: int) -> str:
    """Show only the first two and last two digits of a Telegram id."""
    s = str(abs(user_id))
    if len(s) <= 4:
        return "*" * len(s)
    return f"{s[:2]}{'*' * (len(s) - 4)}{s[-2:]}"


def mask_name(name: str) -> str:
    """Keep the first character of a display name and hide the rest."""
    name = mask_text(name.strip())
    if len(name) <= 1:
        return name or "匿名"
    return name[0] + "*" * min(len(name) - 1, 3)
