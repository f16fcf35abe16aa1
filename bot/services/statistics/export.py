"""Lists and rankings as CSV (UTF-8 with BOM, so spreadsheet programs read Chinese) and XLSX."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from urllib.parse import quote

from openpyxl import Workbook
from openpyxl.styles import Font

Cell = str | int | float | None
CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def to_csv(header: Sequence[str], rows: Sequence[Sequence[Cell]]) -> bytes:
    """A CSV file: a Chinese header row, then the rows."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(["" if v is None else v for v in row] for row in rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(title: str, header: Sequence[str], rows: Sequence[Sequence[Cell]]) -> bytes:
    """An XLSX workbook of one sheet: a bold Chinese header row, then the rows."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = title[:31]
    sheet.append(list(header))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append(list(row))
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def disposition(filename: str) -> str:
    """A Content-Disposition header for a download whose name may be Chinese."""
    ascii_name = filename.encode("ascii", "replace").decode().replace("?", "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"


def safe_name(*parts: str) -> str:
    """Join parts into a file name without path or shell-unfriendly characters."""
    cleaned = ["".join(c for c in p if c not in '/\\:*?"<>| ') for p in parts if p]
    return "_".join(p for p in cleaned if p)
