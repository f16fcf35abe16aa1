"""Shared fixtures: databases (SQLite and PostgreSQL), Redis, the extractor, the local stack."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from storage.db import head_revision, make_engine
from storage.models import Base

IN_CI = os.environ.get("CI", "").lower() == "true"
PG_ADMIN_URL = os.environ.get(
    "HUIYIN_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("HUIYIN_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _unavailable(what: str, reason: str) -> None:
    """Fail under CI (the service must be there); elsewhere skip loudly."""
    message = f"{what} is not reachable ({reason}); these tests need it"
    if IN_CI:
        pytest.fail(message + " and CI=true forbids skipping")
    pytest.skip("SKIPPED LOUDLY: " + message)


async def create_schema(engine: AsyncEngine) -> None:
    """Create every table and stamp the database at the shipped head revision."""
    head = head_revision()
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
        await conn.execute(
            text(
                "CREATE TABLE IF NOT EXISTS alembic_version (version_num VARCHAR(32) PRIMARY KEY)"
            )
        )
        await conn.execute(text("DELETE FROM alembic_version"))
        await conn.execute(text("INSERT INTO alembic_version VALUES (:v)"), {"v": head})


async def _fresh_postgres_db() -> str:
    """Create an empty database for one test and return its URL."""
    name = f"huiyin_t_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        await admin.dispose()
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name


async def _drop_postgres_db(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    admin = create_async_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()


async def _postgres_reachable() -> str | None:
    engine = create_async_engine(PG_ADMIN_URL)
    try:
        async with asyncio.timeout(5), engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return None
    except Exception as exc:
        return repr(exc)
    finally:
        await engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """An empty, migrated database on each backend (fresh per test)."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'huiyin.db'}"
        engine = make_engine(url)
        await create_schema(engine)
        await engine.dispose()
        yield url
        return
    problem = await _postgres_reachable()
    if problem:
        _unavailable("PostgreSQL at " + PG_ADMIN_URL, problem)
    url = await _fresh_postgres_db()
    engine = make_engine(url)
    await create_schema(engine)
    await engine.dispose()
    try:
        yield url
    finally:
        await _drop_postgres_db(url)


@pytest.fixture
async def sqlite_url(tmp_path: Path) -> AsyncIterator[str]:
    """An empty, migrated SQLite database (for tests that need only one backend)."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'huiyin.db'}"
    engine = make_engine(url)
    await create_schema(engine)
    await engine.dispose()
    yield url


@pytest.fixture(scope="session")
def extractor() -> Iterator[object]:
    """The shipped extractor, loaded once for the whole run."""
    from nlp import Extractor

    yield Extractor.load()
