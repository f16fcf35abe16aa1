"""Masking of personal data (phone numbers, ID numbers, Telegram ids) before staff see text."""

from __future__ import annotations

import re

_MOBILE = re.compile(r"(?<!\d)(1[3-9]\d)(\d{4})(\d{4})(?!\d)")
_LANDLINE = re.compile(r"(?<!\d)(0\d{2,3}-?)(\d{3,4})(\d{4})(?!\d)")
_ID_CARD = re.compile(r"(?<![0-9])(\d{6})\d{8}(\d{3}[\dXx])(?![0-9])")


def mask_text(text: str) -> str:
    """Mask mobile, landline and resident ID numbers inside free text."""
    text = _ID_CARD.sub(lambda m: f"{m.group(1)}********{m.group(2)}", text)
    text = _MOBILE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)
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
