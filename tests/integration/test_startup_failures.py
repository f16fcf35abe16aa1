"""Every start-up failure an operator can meet gives one Chinese line naming what to fix.

Each case runs the real `huiyin` command in a child process and reads its stderr.
"""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from pathlib import Path

import pytest

from bot.simulator import BotAPISimulator
from storage.db import upgrade
from tests.conftest import PG_ADMIN_URL, _postgres_reachable, _unavailable

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "424242:SECRET-token-that-must-never-be-printed"


async def huiyin(*args: str, env: dict[str, str]) -> tuple[int, str]:
    """Run `huiyin` in a child process (asynchronously: a simulator may be serving here)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("HUIYIN_", "TELEGRAM_"))}
    base["HUIYIN_OPS_LISTEN"] = "off"  # a port of its own only where a test asks for one
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", *args,
        cwd=ROOT, env={**base, **env},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    async with asyncio.timeout(90):
        out, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, (out + err).decode()


def one_line(output: str) -> str:
    """The whole output must be one line starting 启动失败 (no traceback, no log lines)."""
    lines = output.strip().splitlines()
    assert len(lines) == 1, f"expected one line, got {len(lines)}:\n{output}"
    assert lines[0].startswith("启动失败："), lines[0]
    assert TOKEN not in output and TOKEN.split(":")[1] not in output
    return lines[0]


async def migrated_sqlite(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'huiyin.db'}"
    await upgrade(url)
    return url


def pg_url(db: str, user: str = "postgres", port: int | None = None) -> str:
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    if port is not None:
        base = "postgresql+asyncpg://postgres@127.0.0.1:" + str(port)
    return base.replace("postgres@", f"{user}@", 1) + "/" + db


async def test_missing_sqlite_folder() -> None:
    url = "sqlite+aiosqlite:////no/such/folder/huiyin.db"
    code, output = await huiyin(
        "run", env={"HUIYIN_DATABASE_URL": url, "TELEGRAM_BOT_TOKEN": TOKEN}
    )
    assert code == 2
    line = one_line(output)
    assert "/no/such/folder/huiyin.db" in line and "HUIYIN_DATABASE_URL" in line


@pytest.mark.parametrize(
    ("database_url", "expected"),
    [
        (pg_url("x", port=1), "无法连接 PostgreSQL（127.0.0.1:1）"),
        ("postgresql+asyncpg://postgres@no-such-host.invalid/x", "找不到 PostgreSQL 服务器"),
    ],
)
async def test_postgres_unreachable_is_one_clear_line_while_the_bot_waits(
    database_url: str, expected: str
) -> None:
    """An outage at start is waited out (the bot starts when the database returns); each
    retry says in one line what is wrong and what to check, never a traceback."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("HUIYIN_", "TELEGRAM_"))}
    env = {**base, "HUIYIN_DATABASE_URL": database_url, "TELEGRAM_BOT_TOKEN": TOKEN,
           "HUIYIN_OPS_LISTEN": "off"}  # fmt: skip
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "run", cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    assert proc.stdout is not None
    seen: list[str] = []
    try:
        async with asyncio.timeout(60):
            while not any(expected in line for line in seen):
                raw = await proc.stdout.readline()
                assert raw, f"the bot exited instead of waiting: {seen}"
                seen.append(raw.decode())
    finally:
        proc.terminate()
        await proc.wait()
    output = "".join(seen)
    assert "Traceback" not in output and TOKEN not in output
    line = next(line for line in seen if expected in line)
    assert "HUIYIN_DATABASE_URL" in line and "重试" in line


@pytest.mark.postgres
async def test_postgres_database_missing_and_unknown_role() -> None:
    problem = await _postgres_reachable()
    if problem is not None:
        _unavailable("PostgreSQL", problem)
    missing = f"huiyin_missing_{uuid.uuid4().hex[:8]}"
    code, output = await huiyin(
        "run", env={"HUIYIN_DATABASE_URL": pg_url(missing), "TELEGRAM_BOT_TOKEN": TOKEN}
    )
    assert code == 2 and f"数据库「{missing}」不存在" in one_line(output)
    stranger = pg_url(PG_ADMIN_URL.rsplit("/", 1)[1], user="no_such_role_x")
    code, output = await huiyin(
        "run", env={"HUIYIN_DATABASE_URL": stranger, "TELEGRAM_BOT_TOKEN": TOKEN}
    )
    assert code == 2 and "用户「no_such_role_x」" in one_line(output)


async def test_bot_api_unreachable(tmp_path: Path) -> None:
    env = {
        "HUIYIN_DATABASE_URL": await migrated_sqlite(tmp_path),
        "HUIYIN_TELEGRAM_API_URL": "http://127.0.0.1:1",
        "TELEGRAM_BOT_TOKEN": TOKEN,
    }
    code, output = await huiyin("run", env=env)
    assert code == 2
    line = one_line(output)
    assert "无法连接 Telegram Bot API（http://127.0.0.1:1）" in line


async def test_wrong_token_is_named_but_never_printed(tmp_path: Path) -> None:
    async with BotAPISimulator(token="1:the-right-token") as sim:
        env = {
            "HUIYIN_DATABASE_URL": await migrated_sqlite(tmp_path),
            "HUIYIN_TELEGRAM_API_URL": sim.root_url,
            "TELEGRAM_BOT_TOKEN": TOKEN,
        }
        code, output = await huiyin("run", env=env)
    assert code == 2
    line = one_line(output)
    assert "TELEGRAM_BOT_TOKEN" in line and "@BotFather" in line
    assert "alembic" not in output.lower()


@pytest.mark.parametrize(
    ("env", "named", "why"),
    [
        ({"HUIYIN_LOG_LEVEL": "verbose"}, "HUIYIN_LOG_LEVEL", "INFO"),
        ({"HUIYIN_WEBHOOK_URL": "http://bot.example.org/hook"}, "HUIYIN_WEBHOOK_URL", "https://"),
        ({"HUIYIN_GROUP_CONFIDENCE": "2"}, "HUIYIN_GROUP_CONFIDENCE", "不能大于 1"),
        ({"HUIYIN_REPORTS_PER_HOUR": "lots"}, "HUIYIN_REPORTS_PER_HOUR", "应为整数"),
        ({"HUIYIN_ADMIN_IDS": "12,abc"}, "HUIYIN_ADMIN_IDS", "用户 ID"),
        ({"HUIYIN_OPS_LISTEN": "8080"}, "HUIYIN_OPS_LISTEN", "off"),
    ],
)
async def test_bad_settings_in_chinese(env: dict[str, str], named: str, why: str) -> None:
    code, output = await huiyin("run", env=env)
    assert code == 2
    line = one_line(output)
    assert named in line and why in line
    assert not any(word in line for word in ("Input should", "Value error", "expected"))


async def test_a_bad_rule_file(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "urgency.txt").write_text("没有分节的关键词\n", encoding="utf-8")
    env = {
        "HUIYIN_DATABASE_URL": await migrated_sqlite(tmp_path),
        "HUIYIN_NLP_RULES_DIR": str(rules),
        "TELEGRAM_BOT_TOKEN": TOKEN,
    }
    code, output = await huiyin("run", env=env)
    assert code == 2
    line = one_line(output)
    assert "urgency.txt 第 1 行" in line and "缺少 [分节] 标题" in line


SHIPPED_DATA = ROOT / "bot" / "data"


def _edited(tmp_path: Path, name: str, old: str, new: str) -> Path:
    text = (SHIPPED_DATA / name).read_text(encoding="utf-8")
    assert old in text, old
    path = tmp_path / name
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def _line_of(path: Path, needle: str) -> int:
    lines = path.read_text("utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if needle in line)


async def test_each_bad_data_file_stops_start_up_with_one_chinese_line(tmp_path: Path) -> None:
    """Departments, holidays, indicators and NLP rule files: one Chinese line naming the file,
    the line (and column where the parser knows it) and what is wrong; no parser English."""
    departments = _edited(
        tmp_path, "departments.toml", 'name = "区城市管理委员会"', 'name "区城市管理委员会"'
    )
    routes = tmp_path / "routes" / "departments.toml"
    routes.parent.mkdir()
    routes.write_text(
        (SHIPPED_DATA / "departments.toml").read_text("utf-8")
        + '\n[[routes]]\ncategory = "治安"\ndepartment = "district_nope"\n',
        encoding="utf-8",
    )
    holidays = tmp_path / "holidays.toml"
    holidays.write_text("format = 1\n\n[years.2027]\nholidays = ['2027-02-30']\n", "utf-8")
    indicators = tmp_path / "indicators.toml"
    indicators.write_text("format = 1\n[rates.contact\nname = '响应率'\n", "utf-8")
    rules = tmp_path / "rules"
    (rules / "categories").mkdir(parents=True)
    (rules / "categories" / "local.txt").write_text("[城乡建设/路灯]\n路灯 很重要\n", "utf-8")
    base = {"HUIYIN_DATABASE_URL": await migrated_sqlite(tmp_path), "TELEGRAM_BOT_TOKEN": TOKEN,
            "HUIYIN_TELEGRAM_API_URL": "http://127.0.0.1:9"}  # fmt: skip
    cases = [
        ({"HUIYIN_DEPARTMENTS_FILE": str(departments)}, str(departments),
         f"第 {_line_of(departments, '区城市管理委员会')} 行第 ", "键后面缺少等号"),
        ({"HUIYIN_DEPARTMENTS_FILE": str(routes)}, str(routes), "routes[", "没有代码为"),
        ({"HUIYIN_HOLIDAYS_FILE": str(holidays)}, str(holidays), "years.2027.holidays[0]",
         "不是日期"),
        ({"HUIYIN_INDICATORS_FILE": str(indicators)}, str(indicators), "第 2 行第 ",
         "表头缺少右方括号"),
        ({"HUIYIN_NLP_RULES_DIR": str(rules)}, "local.txt 第 2 行", "权重", "关键词 [权重]"),
    ]  # fmt: skip
    results = await asyncio.gather(*(huiyin("run", env=base | env) for env, *_ in cases))
    for (_env, *needles), (code, output) in zip(cases, results, strict=True):
        assert code == 2, output
        line = one_line(output)
        assert all(needle in line for needle in needles), (needles, line)
        english = line.split("：", 1)[1].replace(str(tmp_path), "")
        for word in ("Expected", "Invalid", "expected", "unknown", "not a", "line", "column"):
            assert word not in english, (word, line)
