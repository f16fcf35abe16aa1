"""Bindings per forum topic: the upgrade keeps existing bindings, a supergroup move takes every
binding of the group along, and a message falls under the right binding."""

from __future__ import annotations

import asyncio

from sqlalchemy import select, text

from bot.domain import ChatKind
from storage.chats import Place, binding_for, move_chat
from storage.db import make_engine, make_sessionmaker, upgrade
from storage.models import Base, BoundChat, OutboxMessage

GROUP, SUPERGROUP = -4100, -1004100000001


async def test_upgrade_keeps_bindings_and_their_topics(database_url: str) -> None:
    engine = make_engine(database_url)
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.drop_all)
        await conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    await engine.dispose()
    await upgrade(database_url, "0016")
    engine = make_engine(database_url)
    async with engine.begin() as conn:
        for chat_id, thread_id, kind, name in [
            (-1, None, "staff", ""),
            (-2, 77, "staff", "district_cg"),
            (-3, None, "grid", "幸福社区第一网格"),
        ]:
            await conn.execute(
                text(
                    "INSERT INTO bound_chats (chat_id, kind, title, name, bound_by, created_at,"
                    " thread_id) VALUES (:c, :k, '', :n, 1, '2026-12-01 00:00:00', :t)"
                ),
                {"c": chat_id, "k": kind, "n": name, "t": thread_id},
            )
        await conn.execute(
            text(
                "INSERT INTO grid_workers (grid_chat_id, user_id, display_name, created_at)"
                " VALUES (-3, 9, '小刘', '2026-12-01 00:00:00')"
            )
        )
    await engine.dispose()
    await upgrade(database_url)
    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)
    try:
        async with sessions() as session:
            rows = (await session.execute(select(BoundChat).order_by(BoundChat.chat_id))).scalars()
            assert [(b.chat_id, b.thread_id, b.name) for b in rows] == [
                (-3, 0, "幸福社区第一网格"),
                (-2, 77, "district_cg"),
                (-1, 0, ""),
            ]
            # A second department may now be bound in another topic of the same group.
            session.add(BoundChat(chat_id=-2, thread_id=78, kind=ChatKind.STAFF,
                                  name="district_rs", bound_by=1))  # fmt: skip
            await session.commit()
            topic = await binding_for(session, Place(-2, 78))
            assert topic is not None and topic.name == "district_rs"
    finally:
        await engine.dispose()


async def test_a_supergroup_move_takes_every_binding_and_card_along(database_url: str) -> None:
    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)
    try:
        async with sessions.begin() as session:
            for thread_id, name in [(11, "district_cg"), (12, "district_rs")]:
                session.add(BoundChat(chat_id=GROUP, thread_id=thread_id, kind=ChatKind.STAFF,
                                      name=name, bound_by=1))  # fmt: skip
            session.add(
                OutboxMessage(idempotency_key="k", chat_id=GROUP, thread_id=12, payload="{}")
            )
        async with sessions.begin() as session:
            assert await move_chat(session, GROUP, SUPERGROUP) >= 3
        async with sessions() as session:
            rows = (await session.execute(select(BoundChat))).scalars().all()
            assert sorted((b.chat_id, b.thread_id, b.name) for b in rows) == [
                (SUPERGROUP, 11, "district_cg"),
                (SUPERGROUP, 12, "district_rs"),
            ]
            waiting = (await session.execute(select(OutboxMessage))).scalar_one()
            assert (waiting.chat_id, waiting.thread_id) == (SUPERGROUP, 12)
            # Messages fall under their topic's binding; elsewhere in the group, under none.
            cg = await binding_for(session, Place(SUPERGROUP, 11))
            assert cg is not None and cg.name == "district_cg"
            assert await binding_for(session, Place(SUPERGROUP, 0)) is None
            assert await binding_for(session, GROUP) is None
    finally:
        await engine.dispose()


async def test_the_two_service_messages_of_one_move_do_not_collide(database_url: str) -> None:
    """Telegram tells of a move in the old group and in the new supergroup; the two are handled
    at once (two chats), and both must succeed: one moves everything, the other nothing."""
    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)
    try:
        async with sessions.begin() as session:
            session.add(BoundChat(chat_id=GROUP, thread_id=0, kind=ChatKind.GRID,
                                  name="幸福社区第一网格", bound_by=1))  # fmt: skip

        async def move() -> int:
            async with sessions.begin() as session:
                return await move_chat(session, GROUP, SUPERGROUP)

        moved = sorted(await asyncio.gather(move(), move()))
        assert moved[0] == 0 and moved[1] >= 1
        async with sessions() as session:
            rows = (await session.execute(select(BoundChat))).scalars().all()
            assert [(b.chat_id, b.name) for b in rows] == [(SUPERGROUP, "幸福社区第一网格")]
    finally:
        await engine.dispose()
