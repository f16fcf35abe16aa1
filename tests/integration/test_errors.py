"""One error tree: every error class lives in bot/errors.py; bad data files name file and line;
a bad NLP rule file stops start-up with one line, not a traceback."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot import errors
from bot.datafiles import read_toml
from bot.errors import CalendarFileError, DataFileError, RulesFileError, StartupError
from bot.workdays import WorkCalendar
from nlp import RuleFileError

ROOT = Path(__file__).resolve().parents[2]
TREE = {name for name, obj in vars(errors).items() if isinstance(obj, type)}
BUILTIN = {"Exception", "ValueError", "RuntimeError", "KeyError", "LookupError", "TypeError"}


def test_every_error_class_of_the_bot_lives_in_the_tree() -> None:
    stray = []
    for path in sorted((ROOT / "bot").rglob("*.py")):
        if path.name == "errors.py" or "simulator" in path.parts:  # it plays Telegram, not us
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                bases = {ast.unparse(b).rsplit(".", 1)[-1] for b in node.bases}
                if bases & (BUILTIN | TREE):
                    stray.append(f"{path.relative_to(ROOT)}: {node.name}")
    assert not stray, stray


def test_startup_errors_share_one_root() -> None:
    for name in ("SettingsError", "NotMigrated", "DataFileError", "RulesFileError"):
        assert issubclass(getattr(errors, name), StartupError), name
    assert not issubclass(StartupError, errors.Refusal)


@pytest.mark.parametrize(
    ("body", "line"),
    [
        (b'format = 1\n\n[years.2027]\nholidays = = ["2027-01-01"]\n', 4),
        (b'format = 1\n\n[years.2027]\nholidays = ["2027-01-01"\n', 4),  # at the end
        ("format = 1\n# 元旦\n".encode() + b"\xff\n", 3),  # not UTF-8
    ],
)
def test_invalid_toml_names_the_file_and_line(tmp_path: Path, body: bytes, line: int) -> None:
    bad = tmp_path / "holidays.toml"
    bad.write_bytes(body)
    with pytest.raises(CalendarFileError) as err:
        WorkCalendar.load(bad)
    assert (err.value.path, err.value.line) == (bad, line)
    assert str(err.value).startswith(f"节假日数据文件 {bad} 第 {line} ")
    assert "不是" in str(err.value)


def test_unreadable_file_is_a_data_file_error(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match="无法读取：文件不存在"):
        read_toml(tmp_path / "missing.toml")


def test_rule_file_error_keeps_file_and_line() -> None:
    mapped = RulesFileError.of(RuleFileError("rules/urgency.txt", 3, "unknown section [x]"))
    assert (mapped.path, mapped.line) == (Path("rules/urgency.txt"), 3)
    assert str(mapped) == "NLP 规则文件 rules/urgency.txt 第 3 行：unknown section [x]"


def test_a_bad_rule_file_stops_start_up_with_one_line(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "urgency.txt").write_text("[没有这一节]\n漏水\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HUIYIN_", "TELEGRAM_"))}
    env |= {
        "HUIYIN_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/x.db",
        "TELEGRAM_BOT_TOKEN": "1:x",
        "HUIYIN_TELEGRAM_API_URL": "http://127.0.0.1:9",
        "HUIYIN_NLP_RULES_DIR": str(rules),
        "HUIYIN_OPS_LISTEN": "off",
    }

    def huiyin(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot.cli", *args],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=env,
            timeout=120,
        )

    assert huiyin("db", "upgrade").returncode == 0
    result = huiyin("run")
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith("启动失败：") and "urgency.txt 第 1 行：" in line, result.stderr
