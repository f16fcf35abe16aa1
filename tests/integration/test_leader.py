"""One sweeper at a time: a PostgreSQL advisory lock (Redis plays no part), or a lease."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from storage.coordination.memory import MemoryCoordinator, MemoryStore
from storage.coordination.redis import RedisCoordinator
from storage.db import make_engine
from storage.leader import AdvisoryLeader, LeaseLeader, make_leader


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_one_leader_on_postgres_even_with_redis_unreachable(database_url: str) -> None:
    one, two = make_engine(database_url), make_engine(database_url)
    dead_redis = RedisCoordinator("redis://127.0.0.1:1/0", socket_timeout=0.2)
    a = make_leader(one, dead_redis, "sweeper")
    b = make_leader(two, dead_redis, "sweeper")
    try:
        assert isinstance(a, AdvisoryLeader) and isinstance(b, AdvisoryLeader)
        assert await a.lead() and await a.lead()
        assert not await b.lead()
        await a.resign()
        assert await b.lead() and not await a.lead()
        # The database drops the leader's connection: the lock goes with it. Only this test's
        # database is touched, and termination is asynchronous: wait until the lock is free.
        held = (
            "select pid from pg_locks where locktype = 'advisory' and pid <> pg_backend_pid() "
            "and database = (select oid from pg_database where datname = current_database())"
        )
        async with one.connect() as conn:
            await conn.execute(text(f"select pg_terminate_backend(pid) from ({held}) as h"))
            for _ in range(100):
                if not (await conn.execute(text(held))).first():
                    break
                await asyncio.sleep(0.05)
        assert await a.lead()
        assert not await b.lead()
    finally:
        await a.resign()
        await b.resign()
        await dead_redis.close()
        await one.dispose()
        await two.dispose()


async def test_one_leader_through_a_lease_elsewhere(sqlite_url: str) -> None:
    store = MemoryStore()
    engine = make_engine(sqlite_url)
    a = make_leader(engine, MemoryCoordinator(store), "sweeper")
    b = make_leader(engine, MemoryCoordinator(store), "sweeper")
    assert isinstance(a, LeaseLeader)
    assert await a.lead() and not await b.lead()
    await a.resign()
    assert await b.lead()
    await engine.dispose()
