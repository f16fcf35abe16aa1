"""What a start-up failure means, in one Chinese line naming what to fix (never a secret)."""

from __future__ import annotations

import socket
from pathlib import Path
from urllib.parse import urlsplit

from bot.config import Settings

# PostgreSQL SQLSTATE codes an operator can fix by changing the database URL or the server.
_PG_CODES = {
    "3D000": "数据库「{db}」不存在：请先创建它（如 createdb {db}），或改正 HUIYIN_DATABASE_URL",
    "28P01": "PostgreSQL 拒绝了用户「{user}」的密码：请改正 HUIYIN_DATABASE_URL 中的用户名或密码",
    "28000": (
        "PostgreSQL 用户「{user}」不存在或不允许连接：请改正 HUIYIN_DATABASE_URL 或 pg_hba.conf"
    ),
    "57P03": "PostgreSQL（{host}）正在启动或关闭，暂时不接受连接：请稍后再试",
}


def _cause_chain(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        orig = getattr(current, "orig", None)
        current = orig if isinstance(orig, BaseException) else (
            current.__cause__ or current.__context__
        )
    return chain


def _db_parts(url: str) -> dict[str, str]:
    parts = urlsplit(url.replace("+asyncpg", "").replace("+aiosqlite", ""))
    return {
        "host": f"{parts.hostname or 'localhost'}:{parts.port or 5432}",
        "user": parts.username or "",
        "db": parts.path.lstrip("/") or "",
    }


def _database_problem(chain: list[BaseException], settings: Settings) -> str | None:
    url = settings.database_url
    parts = _db_parts(url)
    for exc in chain:
        code = getattr(exc, "sqlstate", None) or getattr(exc, "pgcode", None)
        if isinstance(code, str) and code in _PG_CODES:
            return _PG_CODES[code].format(**parts)
    for exc in chain:
        if url.startswith("sqlite") and "unable to open database file" in str(exc):
            path = url.split(":///", 1)[-1]
            return (
                f"无法打开 SQLite 数据库文件 {path}：所在文件夹不存在或没有写权限，"
                "请先创建文件夹，或改正 HUIYIN_DATABASE_URL"
            )
        if isinstance(exc, socket.gaierror) and url.startswith("postgresql"):
            return (
                f"找不到 PostgreSQL 服务器「{parts['host']}」（主机名无法解析）："
                "请检查 HUIYIN_DATABASE_URL 中的主机名"
            )
        if isinstance(exc, OSError | TimeoutError) and url.startswith("postgresql"):
            return (
                f"无法连接 PostgreSQL（{parts['host']}）：请确认数据库服务已启动、"
                "地址和端口正确（HUIYIN_DATABASE_URL）"
            )
    return None


def _telegram_problem(chain: list[BaseException], settings: Settings) -> str | None:
    from telegram.error import InvalidToken, NetworkError

    for exc in chain:
        if isinstance(exc, InvalidToken):
            return (
                "Telegram 拒绝了机器人令牌：TELEGRAM_BOT_TOKEN 错误或已被撤销，"
                "请在 @BotFather 中核对（/token）后重新设置"
            )
        if isinstance(exc, NetworkError):
            return (
                f"无法连接 Telegram Bot API（{settings.telegram_api_url}）："
                "请检查网络、防火墙或代理，或改正 HUIYIN_TELEGRAM_API_URL"
            )
    return None


def sqlite_folder_problem(settings: Settings) -> str | None:
    """The SQLite file's folder must exist before anything connects (checked up front: a
    failed aiosqlite connection leaves a thread behind that prints a traceback at exit)."""
    url = settings.database_url
    if not url.startswith("sqlite") or ":memory:" in url:
        return None
    path = Path(url.split(":///", 1)[-1])
    if path.parent.is_dir():
        return None
    return (
        f"无法打开 SQLite 数据库文件 {path}：所在文件夹不存在或没有写权限，"
        "请先创建文件夹，或改正 HUIYIN_DATABASE_URL"
    )


def explain(exc: BaseException, settings: Settings) -> str | None:
    """One line saying what went wrong and what to fix, or None for an unexpected error."""
    chain = _cause_chain(exc)
    return _telegram_problem(chain, settings) or _database_problem(chain, settings)
