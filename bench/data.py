"""Where the shared data set is: `shared/data` beside the repository (or above it)."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def data_dir() -> Path:
    """`HUIYIN_DATA_DIR`, else the nearest `shared/data` found walking up from the repository's
    parent (a checkout beside `shared/`, or a worktree a level deeper)."""
    given = os.environ.get("HUIYIN_DATA_DIR")
    if given:
        return Path(given)
    for parent in (REPO.parent, *REPO.parent.parents):
        candidate = parent / "shared" / "data"
        if candidate.is_dir():
            return candidate
    return REPO.parent / "shared" / "data"
