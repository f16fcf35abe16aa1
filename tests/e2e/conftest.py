"""End-to-end fixtures: the real bot against the local Bot API simulator."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from nlp import Extractor
from tests.harness import LocalStack


@pytest.fixture
async def stack(sqlite_url: str, extractor: Extractor) -> AsyncIterator[LocalStack]:
    """A running bot on a fresh SQLite database, with a staff chat and one staff member."""
    async with LocalStack(
        database_url=sqlite_url, extractor=extractor, migrate=False, lease_seconds=2.0
    ) as s:
        await s.setup_staff()
        yield s
