"""Rule files: validation errors name file and line; extra dirs, user dict, reload."""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import pytest

from nlp import Extractor, RuleFileError
from nlp.rulefiles import SHIPPED_RULES

NLP_DIR = Path(__file__).parents[2] / "nlp"


def _copy_rules(tmp_path: Path) -> Path:
    target = tmp_path / "rules"
    shutil.copytree(SHIPPED_RULES, target)
    return target


@pytest.mark.parametrize(
    ("content", "line", "reason"),
    [
        ("路灯 3\n", 1, "缺少 [分节] 标题"),
        ("[城乡建设/路灯]\n路灯 abc\n", 2, "关键词 [权重]"),
        ("[城乡建设/路灯]\n路灯 3\n路灯 2\n", 3, "与第 2 行重复"),
        ("[不存在的分类/路灯]\n路灯\n", 1, "不在官方分类表中"),
        ("[城乡建设/路灯]\n路灯 99\n", 2, "权重"),
        ("[城乡建设//路灯]\n", 1, "有空的一级"),
    ],
)
def test_bad_category_file_names_file_line_reason(
    tmp_path: Path, content: str, line: int, reason: str
) -> None:
    extra = tmp_path / "extra" / "categories"
    extra.mkdir(parents=True)
    (extra / "local.txt").write_text(content, encoding="utf-8")
    with pytest.raises(RuleFileError) as err:
        Extractor.load(extra_dirs=[extra.parent])
    assert err.value.file.endswith("local.txt")
    assert err.value.line == line
    assert reason in err.value.reason
    assert f"local.txt 第 {line} 行：" in str(err.value)


def test_unknown_section_and_unknown_file(tmp_path: Path) -> None:
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "urgency.txt").write_text("[很急]\n着火\n", encoding="utf-8")
    with pytest.raises(RuleFileError, match="不认识的分节"):
        Extractor.load(extra_dirs=[extra])
    (extra / "urgency.txt").unlink()
    (extra / "misc.txt").write_text("[x]\n", encoding="utf-8")
    with pytest.raises(RuleFileError, match="不认识的规则文件"):
        Extractor.load(extra_dirs=[extra])


def test_synonym_target_must_exist(tmp_path: Path) -> None:
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "synonyms.txt").write_text("[同义词]\n莫得水 => 没有这个词\n", encoding="utf-8")
    with pytest.raises(RuleFileError) as err:
        Extractor.load(extra_dirs=[extra])
    assert err.value.line == 2


def test_deployment_words_slang_and_user_dict(tmp_path: Path) -> None:
    extra = tmp_path / "extra"
    (extra / "categories").mkdir(parents=True)
    (extra / "categories" / "local.txt").write_text(
        "[城乡建设/城市建设和市政管理/环境卫生]\n垃圾山 3\n", encoding="utf-8"
    )
    (extra / "synonyms.txt").write_text("[同义词]\n莫得水 => 停水\n", encoding="utf-8")
    user_dict = tmp_path / "user.dict"
    user_dict.write_text("翠湖苑 10 ns\n网格员\n", encoding="utf-8")
    x = Extractor.load(extra_dirs=[extra], user_dict=user_dict)
    assert x.extract("楼下又莫得水了，好几天了").category[-1] == "自来水供应"
    assert x.extract("门口垃圾山没人管").is_report
    got = x.extract("翠湖苑门口垃圾山没人清")
    assert got.is_report and got.location == "翠湖苑"


def test_bad_user_dict_line(tmp_path: Path) -> None:
    user_dict = tmp_path / "user.dict"
    user_dict.write_text("好词 10 n\n坏词 abc n\n", encoding="utf-8")
    with pytest.raises(RuleFileError) as err:
        Extractor.load(user_dict=user_dict)
    assert err.value.line == 2


def test_reload_picks_up_changes_and_keeps_old_rules_on_error(tmp_path: Path) -> None:
    rules = _copy_rules(tmp_path)
    x = Extractor.load(rules)
    assert not x.extract("门口有个大土堆没人清").category
    path = rules / "categories" / "local.txt"
    path.write_text("[城乡建设/城市建设和市政管理/环境卫生]\n土堆 3\n", encoding="utf-8")
    x.reload()
    assert x.extract("门口有个大土堆没人清").category[-1] == "环境卫生"
    path.write_text("[城乡建设/城市建设和市政管理/环境卫生]\n土堆 x\n", encoding="utf-8")
    with pytest.raises(RuleFileError):
        x.reload()
    assert x.extract("门口有个大土堆没人清").category[-1] == "环境卫生"


def test_nlp_imports_nothing_from_the_bot_side() -> None:
    forbidden = ("telegram", "storage", "bot", "handlers", "sqlalchemy", "aiohttp", "redis")
    for path in NLP_DIR.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] not in forbidden, f"{path.name} imports {name}"


def test_package_does_not_read_shared_data() -> None:
    for path in NLP_DIR.rglob("*.py"):
        assert "shared" not in path.read_text(encoding="utf-8"), path.name


def test_every_shipped_category_is_a_leaf_of_the_official_taxonomy() -> None:
    """Routing (bot/data/departments.toml) and staff corrections use the taxonomy's rows."""
    import csv

    from nlp.rulefiles import SHIPPED_RULES

    with (SHIPPED_RULES / "taxonomy.csv").open(encoding="utf-8") as f:
        leaves = {"/".join(row) for row in list(csv.reader(f))[1:]}
    x = Extractor.load()
    paths = set(x._compiled.path_names)
    assert paths and paths <= leaves, sorted(paths - leaves)


def test_every_first_level_class_has_a_department_in_the_shipped_routes() -> None:
    """A ticket of any first level reaches a department, not only the dispatcher."""
    import csv

    from bot.departments import Directory
    from nlp.rulefiles import SHIPPED_RULES

    with (SHIPPED_RULES / "taxonomy.csv").open(encoding="utf-8") as f:
        firsts = {row[0] for row in list(csv.reader(f))[1:]}
    directory = Directory.load()
    unrouted = sorted(c for c in firsts if directory.route(c) is None)
    assert len(firsts) == 15 and not unrouted, unrouted
