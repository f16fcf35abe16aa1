"""Read labelled or unlabelled message files (CSV) for evaluation and keyword suggestion."""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

LABEL_COLUMNS = ("label", "category", "一级分类")
NEGATIVE_LABELS = frozenset({"-", "none", "非报告", "闲聊", "not_report"})
_DIGITS = re.compile(r"\d+")


@dataclass(frozen=True, slots=True)
class Row:
    """One message: its id, the text to read, and its label (None when unlabelled)."""

    id: str
    text: str
    label: str | None


def read_label_map(path: Path) -> dict[str, str]:
    """Read 'source,target' lines mapping a file's labels to first-level categories."""
    mapping: dict[str, str] = {}
    with path.open(encoding="utf-8-sig", newline="") as f:
        for number, row in enumerate(csv.reader(f), start=1):
            if not row or row[0].startswith("#"):
                continue
            if len(row) != 2:
                raise ValueError(f"{path}:{number}: expected 'source,target'")
            mapping[row[0].strip()] = row[1].strip()
    return mapping


def read_rows(
    path: Path,
    text_columns: Sequence[str] | None = None,
    label_map: dict[str, str] | None = None,
    split: str | None = None,
) -> tuple[list[Row], bool]:
    """Read a CSV; return its rows and whether it has a label column."""
    with path.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        fields = reader.fieldnames or []
        columns = list(text_columns or [c for c in ("subject", "text") if c in fields])
        missing = [c for c in columns if c not in fields]
        if not columns or missing:
            raise ValueError(f"{path}: text column(s) {missing or ['text']} not in {fields}")
        label_col = next((c for c in LABEL_COLUMNS if c in fields), None)
        id_col = "id" if "id" in fields else None
        rows: list[Row] = []
        for number, record in enumerate(reader, start=2):
            row_id = (record.get(id_col) or "") if id_col else str(number)
            if split and not _in_split(row_id, number, split):
                continue
            text = "。".join(t for c in columns if (t := (record.get(c) or "").strip()))
            label = (record.get(label_col) or "").strip() if label_col else None
            if label is not None and label_map:
                label = label_map.get(label, label)
            rows.append(Row(row_id, text, label))
    return rows, label_col is not None


def _in_split(row_id: str, number: int, split: str) -> bool:
    digits = _DIGITS.findall(row_id)
    value = int(digits[-1]) if digits else number
    return (value % 2 == 0) == (split == "even")
