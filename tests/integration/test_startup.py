"""Start-up: settings are checked, the schema must be migrated, migrations match the models."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.app import NotMigrated, build_runtime
from bot.config import SettingsError, load_settings
from storage.db import current_revision, head_revision, make_engine, upgrade

ROOT = Path(__file__).resolve().parents[2]


def huiyin(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the `huiyin` command in a child process with a clean environment."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("HUIYIN_", "TELEGRAM_"))}
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**base, "HUIYIN_OPS_LISTEN": "off", **(env or {})},
        timeout=120,
    )


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"HUIYIN_ADMIN_IDS": "12,abc"}, "HUIYIN_ADMIN_IDS"),
        ({"HUIYIN_DATABASE_URL": "mysql://x"}, "HUIYIN_DATABASE_URL"),
        ({"HUIYIN_TELEGRAM_API_URL": "api.telegram.org"}, "HUIYIN_TELEGRAM_API_URL"),
        ({"HUIYIN_WEBHOOK_LISTEN": "8080"}, "HUIYIN_WEBHOOK_LISTEN"),
    ],
)
def test_a_malformed_setting_is_named_in_one_line(overrides: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError) as err:
        load_settings(**overrides)
    assert named in str(err.value) and "\n" not in str(err.value)


def test_missing_token_stops_start_up_with_one_clear_line(tmp_path: Path) -> None:
    result = huiyin("run", env={"HUIYIN_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/x.db"})
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "TELEGRAM_BOT_TOKEN" in result.stderr


def test_malformed_setting_through_the_command(tmp_path: Path) -> None:
    result = huiyin("run", env={"HUIYIN_ADMIN_IDS": "x"})
    assert result.returncode == 2 and "HUIYIN_ADMIN_IDS" in result.stderr
    assert result.stderr.strip().count("\n") == 0


async def test_an_unmigrated_database_is_refused(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/fresh.db"
    settings = load_settings(HUIYIN_DATABASE_URL=url, HUIYIN_TELEGRAM_API_URL="http://127.0.0.1:9")
    with pytest.raises(NotMigrated, match="huiyin db upgrade"):
        await build_runtime(settings, token="1:x")


def test_db_upgrade_command_then_start_is_allowed(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/cli.db"
    result = huiyin("db", "upgrade", env={"HUIYIN_DATABASE_URL": url})
    assert result.returncode == 0, result.stderr
    assert "已迁移" in result.stdout
    again = huiyin("staff", "add", "777", "--name", "李明", env={"HUIYIN_DATABASE_URL": url})
    assert again.returncode == 0 and "777" in again.stdout


async def test_migrations_produce_the_models_schema(database_url: str) -> None:
    """Upgrading an empty database gives exactly what the models declare (no drift)."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from storage.models import Base

    engine = make_engine(database_url)
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.drop_all)
        await conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    await engine.dispose()
    await upgrade(database_url)
    engine = make_engine(database_url)
    assert await current_revision(engine) == head_revision()

    def diff(sync_conn: object) -> list[object]:
        ctx = MigrationContext.configure(sync_conn, opts={"compare_type": True})  # type: ignore[arg-type]
        return list(compare_metadata(ctx, Base.metadata))

    async with engine.connect() as conn:
        changes = await conn.run_sync(diff)
    await engine.dispose()
    assert changes == []


async def test_worker_add_command(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/workers.db"
    env = {"HUIYIN_DATABASE_URL": url}
    assert huiyin("db", "upgrade", env=env).returncode == 0
    refused = huiyin("worker", "add", "-100777", "555", "--name", "小刘", env=env)
    assert refused.returncode == 2 and "/bind_grid" in refused.stderr
    engine = make_engine(url)
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO bound_chats (chat_id, kind, title, name, bound_by, created_at)"
                " VALUES (-100777, 'grid', '网格群', '第三网格', 1, '2026-11-23 00:00:00')"
            )
        )
    added = huiyin("worker", "add", "-100777", "555", "--name", "小刘", env=env)
    assert added.returncode == 0 and "第三网格" in added.stdout
    async with engine.connect() as conn:
        rows = (await conn.execute(text("SELECT grid_chat_id, user_id FROM grid_workers"))).all()
    await engine.dispose()
    assert rows == [(-100777, 555)]
