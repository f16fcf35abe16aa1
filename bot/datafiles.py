"""The one reader of the operators' data files: bad files raise a DataFileError naming the
file and, where the parser knows it, the line."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from bot.errors import DataFileError

_TOML_LINE_RE = re.compile(r"at line (\d+)")


def read_toml(path: Path, error: type[DataFileError] = DataFileError) -> dict[str, Any]:
    """Read a TOML data file; an unreadable or invalid one raises `error`."""
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise error.of_file(path, f"cannot read: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise error.of_file(path, "not UTF-8 text", line=line) from exc
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = _TOML_LINE_RE.search(str(exc))
        line = int(m.group(1)) if m else text.rstrip("\n").count("\n") + 1
        raise error.of_file(path, f"not valid TOML: {exc}", line=line) from exc
