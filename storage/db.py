"""Engine and session factory, and the migration helpers the CLI and start-up use."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# A pooled connection used this recently is taken as alive (a ping costs three round trips
# on asyncpg: begin, ping, rollback); one idle longer is pinged before it is handed out.
PING_AFTER_IDLE_SECONDS = 1.0
_IDLE_SINCE = "huiyin_idle_since"


def make_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    """Create the async engine; SQLite gets WAL, a busy timeout and foreign keys.

    Errors never quote the statement's parameters: they hold residents' words and names.
    """
    if url.startswith("sqlite"):
        engine = create_async_engine(
            url, echo=echo, connect_args={"timeout": 30}, hide_parameters=True
        )

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    # LIFO: the connection used last is handed out next, so the few a light load needs stay
    # warm (no ping) and the rest go idle, instead of every one idling past the ping age.
    engine = create_async_engine(
        url, echo=echo, pool_size=10, max_overflow=10, pool_use_lifo=True, hide_parameters=True
    )
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "checkin")
    def _idle(_dbapi_conn, record):  # type: ignore[no-untyped-def]
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(sync_engine, "checkout")
    def _ping_if_idle(dbapi_conn, record, _proxy):  # type: ignore[no-untyped-def]
        since = record.info.get(_IDLE_SINCE)  # None: connected just now
        if since is None or time.monotonic() - since < PING_AFTER_IDLE_SECONDS:
            return
        try:
            sync_engine.dialect.do_ping(dbapi_conn)
        except Exception as exc:  # the pool drops this connection and takes another
            raise DisconnectionError(str(exc)) from exc

    return engine


class ServiceSession(Session):
    """The sessions services use (the intake hooks its "handled" mark onto their commits)."""


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Return the session factory every service uses."""
    return async_sessionmaker(engine, expire_on_commit=False, sync_session_class=ServiceSession)


def alembic_config(url: str):  # type: ignore[no-untyped-def]
    """Build an Alembic config for `url` without an ini file."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def head_revision() -> str:
    """Return the newest migration revision shipped with the code."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None
    return head


async def current_revision(engine: AsyncEngine) -> str | None:
    """Return the revision the database is at, or None when it was never migrated."""
    from alembic.runtime.migration import MigrationContext

    def _read(conn: Connection) -> str | None:
        return MigrationContext.configure(conn).get_current_revision()

    async with engine.connect() as conn:
        return await conn.run_sync(_read)


async def is_up_to_date(engine: AsyncEngine) -> bool:
    """Tell whether the database schema is at the shipped head revision."""
    return await current_revision(engine) == head_revision()


async def upgrade(url: str, revision: str = "head") -> None:
    """Run Alembic migrations up to `revision` (off the event loop: Alembic is synchronous)."""
    from alembic import command

    await asyncio.to_thread(command.upgrade, alembic_config(url), revision)


def single_statements(
    sessions: async_sessionmaker[AsyncSession],
) -> async_sessionmaker[AsyncSession]:
    """Sessions for work that is one statement (a read, a claim): on PostgreSQL each statement
    commits on its own, without the BEGIN and COMMIT or ROLLBACK round trips around it."""
    bind = sessions.kw.get("bind")
    if not isinstance(bind, AsyncEngine) or bind.dialect.name != "postgresql":
        return sessions
    auto = bind.execution_options(isolation_level="AUTOCOMMIT")
    return async_sessionmaker(**{**sessions.kw, "bind": auto})
