"""The container: runtime-only lock, the bot as PID 1 with a health check, compose wiring.

No Docker engine runs where the tests run, so the files are checked for the structure that
matters rather than built.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
DEV_TOOLS = {"ruff", "mypy", "pytest", "pytest-asyncio", "pytest-timeout", "hypothesis", "pyyaml"}


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith(("#", "-r")):
            name, version = line.split("==")
            pins[name.lower().replace("_", "-")] = version
    return pins


def _instructions() -> list[tuple[str, str]]:
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    out = []
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            keyword, _, rest = line.strip().partition(" ")
            out.append((keyword.upper(), rest.strip()))
    return out


def _compose() -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert isinstance(data, dict)
    return data


def test_runtime_lock_holds_no_development_tools() -> None:
    runtime = _pins(ROOT / "requirements.lock")
    assert not DEV_TOOLS & set(runtime), sorted(DEV_TOOLS & set(runtime))
    dev = ROOT / "requirements-dev.lock"
    assert "-r requirements.lock" in dev.read_text()
    assert {"ruff", "mypy", "pytest", "hypothesis"} <= set(_pins(dev))
    assert not set(runtime) & set(_pins(dev)), "a package pinned in both locks"


def test_every_runtime_dependency_is_pinned_in_the_runtime_lock() -> None:
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = _pins(ROOT / "requirements.lock")
    for requirement in project["dependencies"]:
        name = re.split(r"[<>=!\[ ]", requirement, maxsplit=1)[0].lower().replace("_", "-")
        assert name in runtime, f"{name} is a dependency but not in requirements.lock"
    assert isinstance(project["license"], str), "license must be an SPDX string"
    assert all((ROOT / f).exists() for f in project["license-files"])


def test_dockerfile_runs_the_bot_as_pid_1_with_a_health_check() -> None:
    steps = _instructions()
    runs = " ".join(rest for kw, rest in steps if kw == "RUN")
    assert "requirements.lock" in runs and "requirements-dev.lock" not in runs
    cmd = [rest for kw, rest in steps if kw == "CMD"]
    assert len(cmd) == 1 and cmd[0].startswith("["), "CMD must be the exec form (no sh -c)"
    assert "sh" not in cmd[0] and "db upgrade" not in cmd[0]
    health = [rest for kw, rest in steps if kw == "HEALTHCHECK"]
    assert len(health) == 1 and health[0].endswith('CMD ["huiyin", "check"]'), health
    options = dict(re.findall(r"--([a-z-]+)=(\S+)", health[0]))
    assert set(options) <= {"interval", "timeout", "start-period", "start-interval", "retries"}
    assert all(re.fullmatch(r"\d+(ms|s|m|h)", v) for k, v in options.items() if k != "retries")
    user = [rest for kw, rest in steps if kw == "USER"]
    assert user and user[-1] not in ("root", "0")
    env = " ".join(rest for kw, rest in steps if kw == "ENV")
    volume = " ".join(rest for kw, rest in steps if kw == "VOLUME")
    match = re.search(r"HUIYIN_DATABASE_URL=sqlite\+aiosqlite:///(\S+)", env)
    assert match is not None and match.group(1).startswith("/data/") and "/data" in volume
    assert "chown huiyin" in runs and "/data" in runs, "the data volume must be writable"
    # `huiyin check` asks /readyz of the ops server polling mode serves on the exposed port.
    ops = re.search(r"HUIYIN_OPS_LISTEN=(\S+)", env)
    exposed = " ".join(rest for kw, rest in steps if kw == "EXPOSE").split()
    assert ops is not None and ops.group(1).rpartition(":")[2] in exposed, ops
    assert ops.group(1).startswith("0.0.0.0:"), "reachable by Prometheus from other containers"
    copied = " ".join(rest for kw, rest in steps if kw == "COPY")
    assert "tests" not in shlex.split(copied)


def test_dockerfile_copies_what_exists_and_sets_only_real_settings() -> None:
    from bot.config import Settings

    aliases = {f.alias for f in Settings.model_fields.values() if f.alias}
    stage = ""
    for keyword, rest in _instructions():
        if keyword == "FROM":
            stage = rest
        if keyword == "COPY" and "--from=" not in rest:
            *sources, _target = shlex.split(rest)
            for source in sources:
                assert (ROOT / source).exists(), f"COPY {source} ({stage}): no such file"
        if keyword == "ENV":
            for name in re.findall(r"(HUIYIN_\w+)=", rest):
                assert name in aliases, f"ENV {name} is not a setting"
    for name in _compose()["x-huiyin-env"]:
        assert name in aliases, f"compose sets {name}, which is not a setting"


def test_compose_migrates_once_and_the_bot_waits_for_it() -> None:
    services = _compose()["services"]
    migrate, bot = services["migrate"], services["bot"]
    assert migrate["command"] == ["huiyin", "db", "upgrade"]
    assert migrate["restart"] == "no"
    assert migrate["depends_on"]["db"]["condition"] == "service_healthy"
    assert bot["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert bot["command"] == ["huiyin", "run"]
    assert any(str(v).endswith(":/data") for v in bot["volumes"])
    assert "data" in _compose()["volumes"]
    assert bot["environment"]["HUIYIN_DATABASE_URL"].startswith("postgresql+asyncpg://")
    assert bot["image"] == migrate["image"], "both run the same image"
    for name in ("db", "redis"):
        assert "healthcheck" in services[name]
    health = bot["healthcheck"]
    assert health["test"] == ["CMD", "huiyin", "check"], "the bot's health: /readyz"
    for key in ("interval", "timeout", "start_period"):
        assert re.fullmatch(r"\d+(ms|s|m|h)", health[key]), (key, health[key])
    assert isinstance(health["retries"], int) and health["retries"] >= 1
    assert "HUIYIN_OPS_LISTEN" not in bot.get("environment", {}), "keep the image's 0.0.0.0"


def test_docs_describe_backup_restore_and_webhook_behind_a_proxy() -> None:
    ops = (ROOT / "docs" / "OPERATIONS.md").read_text()
    for needle in ("pg_dump", "pg_restore", "/readyz", "HUIYIN_WEBHOOK_URL", "proxy_pass"):
        assert needle in ops, needle
