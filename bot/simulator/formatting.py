"""Message text as Telegram sees it: parse modes to entities, UTF-16 lengths, bot commands."""

from __future__ import annotations

import html
import re
from typing import Any

from .spec import BadRequest

Entity = dict[str, Any]

_HTML_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[^<>]*)?)>")
_ATTR = re.compile(r"""([a-zA-Z-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""")
_ENTITY_REF = re.compile(r"&(#\d+|#x[0-9a-fA-F]+|lt|gt|amp|quot);")
_COMMAND = re.compile(r"(?:(?<=\s)|^)/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?=\s|$)")
_MDV2_RESERVED = set("_*[]()~`>#+-=|{}.!")

MAX_TEXT = 4096
MAX_CAPTION = 1024


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units, Telegram's unit for offsets and limits."""
    return len(text.encode("utf-16-le")) // 2


def parse(
    text: str, parse_mode: str | None, entities: list[Entity] | None
) -> tuple[str, list[Entity]]:
    """Return (plain text, entities) as Telegram stores them after entities parsing."""
    if parse_mode:
        mode = parse_mode.lower()
        if mode == "html":
            plain, found = _parse_html(text)
        elif mode == "markdownv2":
            plain, found = _parse_markdown_v2(text)
        elif mode == "markdown":
            plain, found = _parse_markdown_legacy(text)
        else:
            raise BadRequest("Bad Request: unsupported parse_mode")
    else:
        plain, found = text, [dict(e) for e in entities or []]
    return _strip(plain, found)


def _strip(text: str, entities: list[Entity]) -> tuple[str, list[Entity]]:
    """Trim surrounding whitespace as Telegram does, shifting and clipping entities."""
    lead = utf16_len(text) - utf16_len(text.lstrip())
    stripped = text.strip()
    total = utf16_len(stripped)
    out = []
    for e in entities:
        start = max(0, int(e["offset"]) - lead)
        end = min(total, int(e["offset"]) + int(e["length"]) - lead)
        if end > start:
            out.append({**e, "offset": start, "length": end - start})
    out.sort(key=lambda e: (e["offset"], -e["length"]))
    return stripped, out


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def _parse_html(text: str) -> tuple[str, list[Entity]]:
    out: list[str] = []
    units = 0
    stack: list[tuple[str, int, dict[str, str]]] = []
    entities: list[Entity] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "<":
            match = _TAG.match(text, i)
            if not match:
                raise BadRequest(
                    "Bad Request: can't parse entities: Unexpected end of name token at byte "
                    f"offset {_byte_offset(text, i)}"
                )
            closing, name, attrs = match.group(1), match.group(2).lower(), match.group(3)
            if name not in _HTML_TAGS:
                kind = "end" if closing else "start"
                raise BadRequest(
                    f'Bad Request: can\'t parse entities: Unsupported {kind} tag "{name}" at '
                    f"byte offset {_byte_offset(text, i)}"
                )
            if not closing:
                parsed = {
                    m.group(1).lower(): html.unescape(m.group(2) or m.group(3) or m.group(4) or "")
                    for m in _ATTR.finditer(attrs)
                }
                stack.append((name, units, parsed))
            else:
                if not stack or stack[-1][0] != name:
                    expected = f'"</{stack[-1][0]}>"' if stack else "no end tag"
                    raise BadRequest(
                        "Bad Request: can't parse entities: Unmatched end tag at byte offset "
                        f'{_byte_offset(text, i)}, expected {expected}, found "</{name}>"'
                    )
                tag, start, attributes = stack.pop()
                if units > start:
                    entities.append(_html_entity(tag, start, units - start, attributes))
            i = match.end()
            continue
        if ch == "&":
            match = _ENTITY_REF.match(text, i)
            if match:
                piece = html.unescape(match.group(0))
                out.append(piece)
                units += utf16_len(piece)
                i = match.end()
                continue
        out.append(ch)
        units += utf16_len(ch)
        i += 1
    if stack:
        raise BadRequest(
            "Bad Request: can't parse entities: Can't find end tag corresponding to start tag "
            f'"{stack[-1][0]}"'
        )
    return "".join(out), entities


def _html_entity(tag: str, offset: int, length: int, attrs: dict[str, str]) -> Entity:
    entity: Entity = {"type": _HTML_TAGS[tag], "offset": offset, "length": length}
    if tag == "a":
        url = attrs.get("href", "")
        if url.startswith("tg://user?id="):
            entity = {"type": "text_mention", "offset": offset, "length": length}
            entity["user"] = {"id": int(url.split("=", 1)[1] or 0), "is_bot": False,
                              "first_name": "User"}
        else:
            entity["url"] = url
    elif tag == "tg-emoji":
        entity["custom_emoji_id"] = attrs.get("emoji-id", "0")
    elif tag == "pre" and "language" in attrs:
        entity["language"] = attrs["language"]
    elif tag == "blockquote" and "expandable" in attrs:
        entity["type"] = "expandable_blockquote"
    return entity


_MDV2_MARKS = (("||", "spoiler"), ("__", "underline"), ("*", "bold"), ("_", "italic"),
               ("~", "strikethrough"))


def _parse_markdown_v2(text: str) -> tuple[str, list[Entity]]:
    """Parse MarkdownV2: reserved characters must be escaped, as Telegram insists."""
    out: list[str] = []
    units = 0
    entities: list[Entity] = []
    open_marks: list[tuple[str, str, int]] = []
    link_start: list[int] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            units += utf16_len(text[i + 1])
            i += 2
            continue
        if ch == "`":
            fence = "```" if text.startswith("```", i) else "`"
            end = text.find(fence, i + len(fence))
            if end < 0:
                raise BadRequest(
                    "Bad Request: can't parse entities: Can't find end of Pre entity at byte "
                    f"offset {_byte_offset(text, i)}"
                )
            body = text[i + len(fence) : end].replace("\\`", "`").replace("\\\\", "\\")
            language = None
            if fence == "```" and "\n" in body:
                first, rest = body.split("\n", 1)
                if first and " " not in first:
                    language, body = first, rest
            entity: Entity = {"type": "pre" if fence == "```" else "code", "offset": units,
                              "length": utf16_len(body)}
            if language:
                entity["language"] = language
            if entity["length"]:
                entities.append(entity)
            out.append(body)
            units += utf16_len(body)
            i = end + len(fence)
            continue
        mark = next((m for m in _MDV2_MARKS if text.startswith(m[0], i)), None)
        if mark is not None:
            if open_marks and open_marks[-1][0] == mark[0]:
                _sym, kind, start = open_marks.pop()
                if units > start:
                    entities.append({"type": kind, "offset": start, "length": units - start})
            else:
                open_marks.append((mark[0], mark[1], units))
            i += len(mark[0])
            continue
        if ch == "[":
            link_start.append(units)
            i += 1
            continue
        if ch == "]" and link_start and text.startswith("(", i + 1):
            end = text.find(")", i + 2)
            if end < 0:
                raise BadRequest("Bad Request: can't parse entities: Can't find end of a URL")
            start = link_start.pop()
            url = text[i + 2 : end].replace("\\)", ")").replace("\\\\", "\\")
            if units > start:
                entities.append({"type": "text_link", "offset": start, "length": units - start,
                                 "url": url})
            i = end + 1
            continue
        if ch in _MDV2_RESERVED:
            raise BadRequest(
                f"Bad Request: can't parse entities: Character '{ch}' is reserved and must be "
                "escaped with the preceding '\\'"
            )
        out.append(ch)
        units += utf16_len(ch)
        i += 1
    if open_marks:
        sym, kind, _start = open_marks[-1]
        raise BadRequest(
            f"Bad Request: can't parse entities: Can't find end of {kind.title()} entity "
            f"(opened with {sym!r})"
        )
    return "".join(out), entities


def _parse_markdown_legacy(text: str) -> tuple[str, list[Entity]]:
    """Parse legacy Markdown (``*bold*``, ``_italic_``, backticks, ``[text](url)``)."""
    out: list[str] = []
    units = 0
    entities: list[Entity] = []
    i = 0
    kinds = {"*": "bold", "_": "italic", "`": "code"}
    while i < len(text):
        ch = text[i]
        if ch in kinds:
            end = text.find(ch, i + 1)
            if end < 0:
                raise BadRequest(
                    "Bad Request: can't parse entities: Can't find end of the entity starting "
                    f"at byte offset {_byte_offset(text, i)}"
                )
            body = text[i + 1 : end]
            if body:
                entities.append({"type": kinds[ch], "offset": units, "length": utf16_len(body)})
            out.append(body)
            units += utf16_len(body)
            i = end + 1
            continue
        out.append(ch)
        units += utf16_len(ch)
        i += 1
    return "".join(out), entities


def command_entities(text: str) -> list[Entity]:
    """``bot_command`` entities Telegram attaches to a user's text (``/cmd``, ``/cmd@bot``)."""
    entities = []
    for match in _COMMAND.finditer(text):
        entities.append({
            "type": "bot_command",
            "offset": utf16_len(text[: match.start()]),
            "length": utf16_len(match.group(0)),
        })
    return entities
