"""The inbox on SQLite and PostgreSQL: stored once, claimed chat by chat, marked with effects."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.intake import handled
from bot.intents import Notice
from storage import inbox
from storage.db import make_engine, make_sessionmaker
from storage.models import InboxUpdate, OutboxMessage, UpdateKind, utcnow
from storage.outbox import enqueue

LEASE = timedelta(seconds=60)


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(database_url)
    handled.install()
    yield make_sessionmaker(engine)
    await engine.dispose()


def item(update_id: int, chat: int, *, done: bool = False) -> inbox.Incoming:
    return inbox.Incoming(
        update_id, chat, UpdateKind.MESSAGE, f'{{"update_id":{update_id}}}', done
    )


async def claim(
    sessions: async_sessionmaker[AsyncSession], limit: int = 10, at: timedelta = timedelta()
) -> list[inbox.Claimed]:
    async with sessions.begin() as s:
        return await inbox.claim(s, utcnow() + at, limit=limit, lease=LEASE)


async def statuses(sessions: async_sessionmaker[AsyncSession]) -> dict[int, str]:
    async with sessions() as s:
        rows = await s.execute(select(InboxUpdate.update_id, InboxUpdate.status))
        return {u: st for u, st in rows.all()}


async def test_a_redelivered_update_is_stored_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as s:
        assert await inbox.store(s, [item(1, 10), item(2, 10)], utcnow()) == 2
    async with sessions.begin() as s:
        assert await inbox.store(s, [item(2, 10), item(3, 10)], utcnow()) == 1
    assert await statuses(sessions) == {1: "pending", 2: "pending", 3: "pending"}


async def test_chatter_is_stored_already_handled_and_never_claimed(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as s:
        await inbox.store(s, [item(1, 10, done=True), item(2, 11)], utcnow())
    assert [c.update_id for c in await claim(sessions)] == [2]
    assert (await statuses(sessions))[1] == "done"


async def test_whole_chats_are_claimed_in_order_and_held_by_one_claimer(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as s:
        await inbox.store(s, [item(1, 10), item(2, 20), item(3, 10), item(4, 20)], utcnow())
    async with sessions.begin() as s:
        first = await inbox.claim(s, utcnow(), limit=10, lease=LEASE, per_claim=3)
    assert [c.update_id for c in first] == [1, 2, 3]  # a prefix of each chat, in order
    assert await claim(sessions) == []  # chat 20's 4 waits behind its claimed 2
    async with sessions.begin() as s:
        await inbox.unclaim(s, first[1:])  # 1 stays held: 3 cannot be taken past it
        assert await inbox.mark_done(s, first[0].id, first[0].claim, utcnow())
    assert [c.update_id for c in await claim(sessions)] == [2, 3, 4]


async def test_an_expired_claim_is_taken_over_and_the_old_holder_cannot_mark_it(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as s:
        await inbox.store(s, [item(1, 10)], utcnow())
    [old] = await claim(sessions)
    assert await claim(sessions, at=timedelta(seconds=30)) == []
    [new] = await claim(sessions, at=LEASE + timedelta(seconds=1))
    assert new.id == old.id and new.claim != old.claim
    async with sessions.begin() as s:
        assert not await inbox.mark_done(s, old.id, old.claim, utcnow())
        assert await inbox.mark_done(s, new.id, new.claim, utcnow())


async def test_the_mark_commits_with_the_effects_or_not_at_all(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as s:
        await inbox.store(s, [item(1, 10), item(2, 20)], utcnow())
    first, second = await claim(sessions)

    mark = handled.Mark(first.id, first.claim)
    token = handled.current.set(mark)
    try:
        with pytest.raises(RuntimeError):
            async with sessions.begin() as s:
                await enqueue(s, key="k1", chat_id=10, intent=Notice("一"))
                raise RuntimeError("the handler fails before its commit")
        assert not mark.done
        async with sessions() as s:  # a read-only transaction marks nothing
            await s.execute(select(1))
            await s.commit()
        assert not mark.done and (await statuses(sessions))[1] == "pending"
        async with sessions.begin() as s:
            await enqueue(s, key="k1", chat_id=10, intent=Notice("一"))
        assert mark.done
    finally:
        handled.current.reset(token)
    assert (await statuses(sessions))[1] == "done"

    # A worker whose claim was overtaken: its whole transaction rolls back.
    lost = handled.Mark(second.id, "not-the-claim")
    token = handled.current.set(lost)
    try:
        with pytest.raises(handled.ClaimLost):
            async with sessions.begin() as s:
                await enqueue(s, key="k2", chat_id=20, intent=Notice("二"))
    finally:
        handled.current.reset(token)
    async with sessions() as s:
        keys = (await s.execute(select(OutboxMessage.idempotency_key))).scalars().all()
    assert keys == ["k1"]
    assert (await statuses(sessions))[2] == "pending"


async def test_a_savepoint_does_not_mark_the_update_before_the_real_commit(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as s:
        await inbox.store(s, [item(1, 10)], utcnow())
    [row] = await claim(sessions)
    mark = handled.Mark(row.id, row.claim)
    token = handled.current.set(mark)
    try:
        with pytest.raises(RuntimeError):
            async with sessions.begin() as s:
                async with s.begin_nested():
                    await enqueue(s, key="k1", chat_id=10, intent=Notice("一"))
                assert not mark.done
                raise RuntimeError("the database goes away after the savepoint")
        assert not mark.done and (await statuses(sessions))[1] == "pending"
        async with sessions.begin() as s, s.begin_nested():
            await enqueue(s, key="k1", chat_id=10, intent=Notice("一"))
        assert mark.done
    finally:
        handled.current.reset(token)
    assert (await statuses(sessions))[1] == "done"


async def test_failures_back_off_then_dead_letter_then_retry(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as s:
        await inbox.store(s, [item(1, 10), item(2, 10)], utcnow())
    row, nxt = await claim(sessions)
    async with sessions.begin() as s:
        status = await inbox.fail(s, row, "boom", utcnow(), max_attempts=2, backoff=5.0)
        await inbox.unclaim(s, [nxt])  # what a worker does with the rest of the chat
    assert status == "pending"
    assert await claim(sessions) == []  # backing off, and chat 10's next waits behind it
    row, nxt = await claim(sessions, at=timedelta(seconds=6))
    assert row.attempts == 1
    async with sessions.begin() as s:
        status = await inbox.fail(s, row, "boom again", utcnow(), max_attempts=2, backoff=5.0)
        await inbox.unclaim(s, [nxt])
    assert status == "dead"
    [nxt] = await claim(sessions, at=timedelta(seconds=60))  # a dead update blocks nobody
    assert nxt.update_id == 2
    async with sessions() as s:
        [dead] = await inbox.failed(s)
    assert dead.update_id == 1 and dead.attempts == 2 and dead.last_error == "boom again"
    async with sessions.begin() as s:
        assert await inbox.retry(s, utcnow(), [dead.id]) == 1
    async with sessions() as s:
        assert await inbox.failed(s) == []
    assert (await statuses(sessions))[1] == "pending"


async def test_pruning_after_48_hours_lets_a_reused_update_id_in_as_new(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    long_ago = utcnow() - timedelta(hours=49)
    async with sessions.begin() as s:
        await inbox.store(s, [item(1, 10, done=True), item(2, 10)], long_ago)
        await inbox.store(s, [item(3, 10, done=True)], utcnow())
    async with sessions.begin() as s:
        assert await inbox.prune(s, utcnow()) == 1
    async with sessions.begin() as s:
        assert await inbox.store(s, [item(1, 10), item(3, 10)], utcnow()) == 1
    assert await statuses(sessions) == {1: "pending", 2: "pending", 3: "done"}


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_concurrent_claimers_never_share_an_update(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as s:
        await inbox.store(s, [item(i, i % 40) for i in range(1, 401)], utcnow())
    seen: list[int] = []

    async def worker() -> None:
        while True:
            rows = await claim(sessions, limit=7)
            if not rows:
                return
            for row in rows:
                seen.append(row.update_id)
                async with sessions.begin() as s:
                    assert await inbox.mark_done(s, row.id, row.claim, utcnow())

    await asyncio.gather(*(worker() for _ in range(6)))
    assert sorted(seen) == list(range(1, 401))
    async with sessions() as s:
        left = await s.execute(
            select(func.count()).select_from(InboxUpdate).where(InboxUpdate.status != "done")
        )
        assert left.scalar_one() == 0
