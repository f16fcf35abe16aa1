"""Errors raised while loading rule files."""

from __future__ import annotations


class RuleFileError(Exception):
    """A rule file (or user dictionary) is malformed; names the file, line and reason."""

    def __init__(self, file: str, line: int, reason: str) -> None:
        self.file = file
        self.line = line
        self.reason = reason
        super().__init__(f"{file} 第 {line} 行：{reason}" if line else f"{file}：{reason}")
