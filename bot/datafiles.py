"""The one reader of the operators' data files: bad files raise a DataFileError naming the
file and, where the parser knows them, the line and column, in Chinese."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from bot.errors import DataFileError

_TOML_AT = re.compile(r"\s*\(at (?:line (\d+), column (\d+)|end of document)\)$")
# tomllib's messages, as an operator reads them (the key or character quoted stays as is).
_TOML_REASONS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(p), r)
    for p, r in [
        (r"^Cannot overwrite a value", "重复给同一个键赋值"),
        (r"^Cannot declare (.+) twice", r"表 \1 声明了两次"),
        (r"^Cannot mutate immutable namespace (.+)", r"不能再往 \1 里添加键"),
        (r"^Cannot redefine namespace (.+)", r"重复定义了 \1"),
        (r"^Duplicate inline table key (.+)", r"行内表中的键 \1 重复"),
        (r"^Escaped character is not a Unicode scalar value", "转义字符不是有效的 Unicode 字符"),
        (r"^Expected '=' after a key in a key/value pair", "键后面缺少等号（=）"),
        (r"^Expected '\]' at the end of a table declaration", "表头缺少右方括号（]）"),
        (r"^Expected '\]\]' at the end of an array declaration", "表数组头缺少 ]]"),
        (r"^Expected newline or end of document", "一行只能写一个 键 = 值（此处多了内容）"),
        (r"^Expected (.+)", r"此处应为 \1"),
        (r"^Found invalid character (.+)", r"出现了不允许的字符 \1"),
        (r"^Illegal character (.+)", r"字符串中有不允许的字符 \1"),
        (r"^Invalid date or datetime", "日期或时间格式不对（应为 YYYY-MM-DD）"),
        (r"^Invalid hex value", "十六进制转义不对"),
        (r"^Invalid initial character for a key part", "键的开头字符不对（键名含中文时请加引号）"),
        (r"^Invalid statement", "无法识别的语句（应为 键 = 值 或 [表名]；含中文的键名要加引号）"),
        (r"^Invalid value", "值的写法不对（字符串请加引号）"),
        (r"^Unclosed array", "数组缺少右方括号（]）"),
        (r"^Unclosed inline table", "行内表缺少右花括号（}）"),
        (r"^Unescaped '\\' in a string", "字符串中的反斜杠（\\）未转义"),
        (r"^Unterminated string", "字符串缺少结尾的引号"),
    ]
]


def toml_reason(message: str) -> tuple[str, int | None, int | None]:
    """tomllib's error message as (what is wrong, in Chinese; line; column)."""
    at = _TOML_AT.search(message)
    line = int(at.group(1)) if at and at.group(1) else None
    column = int(at.group(2)) if at and at.group(2) else None
    text = message[: at.start()] if at else message
    for pattern, reason in _TOML_REASONS:
        if pattern.search(text):
            return "不是有效的 TOML：" + pattern.sub(reason, text, count=1), line, column
    return "不是有效的 TOML", line, column


def read_toml(path: Path, error: type[DataFileError] = DataFileError) -> dict[str, Any]:
    """Read a TOML data file; an unreadable or invalid one raises `error`."""
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise error.of_file(path, f"无法读取：{unreadable(exc)}") from exc
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise error.of_file(path, "不是 UTF-8 编码的文本", line=line) from exc
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        reason, at, column = toml_reason(str(exc))
        at = at or text.rstrip("\n").count("\n") + 1  # "at end of document"
        raise error.of_file(path, reason, line=at, column=column) from exc


def unreadable(exc: OSError) -> str:
    """Why a file cannot be read, in Chinese."""
    if isinstance(exc, FileNotFoundError):
        return "文件不存在"
    if isinstance(exc, IsADirectoryError):
        return "这是一个目录，不是文件"
    if isinstance(exc, PermissionError):
        return "没有读取权限"
    return exc.strerror or str(exc)
