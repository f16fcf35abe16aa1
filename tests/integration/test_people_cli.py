"""`huiyin admin|staff|worker|block` list and remove, run as the real command."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from storage.db import make_engine
from tests.integration.test_startup_failures import huiyin, migrated_sqlite


async def test_people_commands(tmp_path: Path) -> None:
    url = await migrated_sqlite(tmp_path)
    env = {"HUIYIN_DATABASE_URL": url, "HUIYIN_ADMIN_IDS": "11"}

    async def ok(*args: str) -> str:
        code, output = await huiyin(*args, env=env)
        assert code == 0, output
        return output

    assert "11" in await ok("admin", "list")  # seeded from HUIYIN_ADMIN_IDS
    await ok("admin", "add", "22")
    assert {"11", "22"} <= set((await ok("admin", "list")).split())
    removed = await ok("admin", "remove", "11")
    assert "HUIYIN_ADMIN_IDS" in removed  # it would come back at the next start
    code, output = await huiyin("admin", "remove", "99", env=env)
    assert code == 1 and "不是管理员" in output

    await ok("staff", "add", "777", "--name", "李明", "--department", "区城管委")
    await ok("staff", "add", "777", "--name", "李明")
    listing = await ok("staff", "list")
    assert "777" in listing and "李明" in listing and "区城市管理委员会" in listing
    await ok("staff", "remove", "777", "--department", "区城管委")
    assert "777" in await ok("staff", "list")  # still on the dispatch chat's staff
    await ok("staff", "remove", "777")
    assert "777" not in await ok("staff", "list")

    engine = make_engine(url)
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO bound_chats (chat_id, kind, title, name, bound_by, created_at)"
                " VALUES (-100777, 'grid', '网格群', '第三网格', 1, '2026-11-23 00:00:00')"
            )
        )
        await conn.execute(
            text("INSERT INTO blocked_users (user_id, blocked_by, created_at)"
                 " VALUES (4242, 1, '2026-11-23 00:00:00')")
        )  # fmt: skip
    await engine.dispose()
    await ok("worker", "add", "-100777", "555", "--name", "小刘")
    assert "第三网格" in await ok("worker", "list")
    await ok("worker", "remove", "555", "--grid", "-100777")
    assert "555" not in await ok("worker", "list")
    assert "4242" in await ok("block", "list")
    await ok("block", "remove", "4242")
    assert "4242" not in await ok("block", "list")
