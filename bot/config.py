"""Settings from the environment (and an optional .env), validated once in `main`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.errors import SettingsError
from nlp.decision import GROUP_ASK_AT, GROUP_TICKET_AT

__all__ = ["Settings", "SettingsError", "load_settings"]

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

# Pydantic's English messages, by error type, as an operator reads them.
_PYDANTIC_ZH = {
    "int_parsing": "应为整数",
    "int_from_float": "应为整数",
    "float_parsing": "应为数字",
    "bool_parsing": "应为 true 或 false",
    "greater_than_equal": "不能小于 {ge}",
    "less_than_equal": "不能大于 {le}",
    "greater_than": "应大于 {gt}",
    "less_than": "应小于 {lt}",
    "missing": "缺少此设置",
    "string_type": "应为文本",
    "path_type": "应为文件路径",
}


def _in_chinese(err: dict[str, Any]) -> str:
    """One pydantic error as Chinese text (our own validators already speak Chinese)."""
    if err["type"] == "value_error":
        return str(err.get("ctx", {}).get("error", err["msg"]))
    template = _PYDANTIC_ZH.get(err["type"])
    if template is None:
        return f"格式不对（{err['msg']}）"
    return template.format(**err.get("ctx", {}))


class Settings(BaseSettings):
    """Every setting of the bot; see the README for what each one does."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    telegram_bot_token: str = Field("", alias="TELEGRAM_BOT_TOKEN")
    telegram_api_url: str = Field("https://api.telegram.org", alias="HUIYIN_TELEGRAM_API_URL")
    database_url: str = Field("sqlite+aiosqlite:///huiyin.db", alias="HUIYIN_DATABASE_URL")
    redis_url: str | None = Field(None, alias="HUIYIN_REDIS_URL")
    redis_prefix: str = Field("huiyin:", min_length=1, alias="HUIYIN_REDIS_PREFIX")
    admin_ids: Annotated[frozenset[int], NoDecode] = Field(frozenset(), alias="HUIYIN_ADMIN_IDS")
    webhook_url: str | None = Field(None, alias="HUIYIN_WEBHOOK_URL")
    webhook_secret: str | None = Field(None, alias="HUIYIN_WEBHOOK_SECRET")
    webhook_listen: str = Field("0.0.0.0:8080", alias="HUIYIN_WEBHOOK_LISTEN")
    holidays_file: Path | None = Field(None, alias="HUIYIN_HOLIDAYS_FILE")
    deadline_policy_file: Path | None = Field(None, alias="HUIYIN_DEADLINE_POLICY_FILE")
    departments_file: Path | None = Field(None, alias="HUIYIN_DEPARTMENTS_FILE")
    indicators_file: Path | None = Field(None, alias="HUIYIN_INDICATORS_FILE")
    console_url: str | None = Field(None, alias="HUIYIN_CONSOLE_URL")
    console_secret: str | None = Field(None, alias="HUIYIN_CONSOLE_SECRET")
    web_listen: str = Field("127.0.0.1:8081", alias="HUIYIN_WEB_LISTEN")
    # `huiyin run` (polling) serves /healthz, /readyz and /metrics here; "off": not at all.
    ops_listen: str = Field("127.0.0.1:8080", alias="HUIYIN_OPS_LISTEN")
    nlp_rules_dir: Path | None = Field(None, alias="HUIYIN_NLP_RULES_DIR")
    nlp_user_dict: Path | None = Field(None, alias="HUIYIN_NLP_USER_DICT")
    log_level: str = Field("INFO", alias="HUIYIN_LOG_LEVEL")
    heartbeat_file: Path | None = Field(None, alias="HUIYIN_HEARTBEAT_FILE")
    retention_days: int = Field(365, ge=30, le=3650, alias="HUIYIN_RETENTION_DAYS")
    group_confidence: float = Field(
        GROUP_TICKET_AT, ge=0.0, le=1.0, alias="HUIYIN_GROUP_CONFIDENCE"
    )
    group_ask_confidence: float = Field(
        GROUP_ASK_AT, ge=0.0, le=1.0, alias="HUIYIN_GROUP_ASK_CONFIDENCE"
    )
    group_messages_per_minute: int = Field(
        6, ge=1, le=20, alias="HUIYIN_GROUP_MESSAGES_PER_MINUTE"
    )
    reports_per_hour: int = Field(10, ge=1, le=1000, alias="HUIYIN_REPORTS_PER_HOUR")
    merge_hours: int = Field(72, ge=0, le=24 * 30, alias="HUIYIN_MERGE_HOURS")
    group_prompt_minutes: int = Field(30, ge=1, le=24 * 60, alias="HUIYIN_GROUP_PROMPT_MINUTES")

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _parse_ids(cls, value: object) -> frozenset[int]:
        if isinstance(value, str):
            parts = [p.strip() for p in value.replace("，", ",").split(",") if p.strip()]
            try:
                return frozenset(int(p) for p in parts)
            except ValueError:
                raise ValueError("应为逗号分隔的 Telegram 用户 ID（数字）") from None
        return (
            frozenset(int(v) for v in value)
            if isinstance(value, (list, set, frozenset, tuple))
            else frozenset()
        )

    @field_validator("database_url")
    @classmethod
    def _check_db(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError(
                "应为 sqlite+aiosqlite:///路径 或 postgresql+asyncpg://用户:密码@主机/数据库"
            )
        return value

    @field_validator("telegram_api_url", "redis_url", "webhook_url", "console_url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(
            ("http://", "https://", "redis://", "rediss://", "unix://")
        ):
            raise ValueError("应为完整的网址（以 https:// 等开头）")
        return value.rstrip("/") if value else value

    @field_validator("webhook_url")
    @classmethod
    def _check_webhook_url(cls, value: str | None) -> str | None:
        if value and not value.startswith("https://"):
            raise ValueError(
                "Telegram 只向 https:// 地址推送更新，请填写 HTTPS 地址（由反向代理提供 TLS）"
            )
        return value

    @field_validator("log_level")
    @classmethod
    def _check_level(cls, value: str) -> str:
        if value.upper() not in LOG_LEVELS:
            raise ValueError(f"应为 {'、'.join(LOG_LEVELS)} 之一")
        return value.upper()

    @field_validator("webhook_listen", "web_listen", "ops_listen")
    @classmethod
    def _check_listen(cls, value: str, info: ValidationInfo) -> str:
        if info.field_name == "ops_listen" and value.strip().lower() in ("off", ""):
            return "off"
        host, _, port = value.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(
                "应为 主机:端口，例如 0.0.0.0:8080"
                + ("，或 off（不提供）" if info.field_name == "ops_listen" else "")
            )
        return value

    def console_root(self) -> str:
        """Where sign-in links point: HUIYIN_CONSOLE_URL, else the webhook server, else the
        stand-alone console (`huiyin web`) on HUIYIN_WEB_LISTEN."""
        if self.console_url:
            return self.console_url
        if self.webhook_url:
            scheme, _, rest = self.webhook_url.partition("://")
            return f"{scheme}://{rest.split('/', 1)[0]}"
        return f"http://{self.web_listen}"

    def require_token(self) -> str:
        """Return the bot token, or raise SettingsError when it is missing."""
        if not self.telegram_bot_token or ":" not in self.telegram_bot_token:
            raise SettingsError(
                "TELEGRAM_BOT_TOKEN 未设置或格式不对（应形如 123456:ABC…，向 @BotFather 获取）"
            )
        return self.telegram_bot_token


def load_settings(**overrides: object) -> Settings:
    """Read settings; a missing or malformed one raises SettingsError naming it."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        err = exc.errors()[0]
        field = str(err["loc"][0]) if err["loc"] else "?"
        alias = Settings.model_fields[field].alias if field in Settings.model_fields else field
        raise SettingsError(f"设置 {alias or field} 无效：{_in_chinese(dict(err))}") from None
