"""Read and validate the human-edited rule files (one file per concern)."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from nlp.errors import RuleFileError
from nlp.model import INTENTS

SHIPPED_RULES = Path(__file__).resolve().parent / "rules"
TAXONOMY_FILE = "taxonomy.csv"
CATEGORY_DIR = "categories"
MAX_WEIGHT = 20.0
MAX_DEPTH = 4

# concern file name -> allowed section names (None: any category path)
CONCERNS: dict[str, tuple[str, ...]] = {
    "intent.txt": INTENTS,
    "urgency.txt": ("紧急", "否定词"),
    "negation.txt": ("否定", "已解决", "复发", "问句开头", "问句结尾"),
    "cues.txt": ("报告线索",),
    "location.txt": ("地名后缀", "楼栋后缀", "地名", "去除前缀"),
    "synonyms.txt": ("同义词",),
    "smalltalk.txt": ("寒暄",),
    "neighbours.txt": ("相近类别",),
}
# sections whose lines may carry a weight; the others are plain word lists
WEIGHTED = {"报告线索", *INTENTS}

_SECTION = re.compile(r"^\[(?P<name>[^\[\]]+)\]$")
_ALIAS = re.compile(r"^(?P<key>\S+)\s*=>\s*(?P<target>\S+)$")
_WEIGHTED = re.compile(r"^(?P<key>\S+)(?:\s+(?P<weight>[-+]?\d+(?:\.\d+)?))?$")


@dataclass(frozen=True, slots=True)
class Entry:
    """One keyword line: where it came from, its section, its weight or alias target."""

    file: str
    line: int
    section: str
    key: str
    weight: float = 1.0
    target: str | None = None


@dataclass(slots=True)
class RuleSet:
    """Everything read from the rule directories, grouped by concern."""

    categories: list[Entry] = field(default_factory=list)
    by_concern: dict[str, list[Entry]] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    taxonomy: frozenset[str] = frozenset()
    taxonomy_paths: frozenset[str] = frozenset()  # every row joined "一级/二级/三级"

    def section(self, concern: str, name: str) -> list[Entry]:
        """Return the entries of one section of one concern file, in file order."""
        return [e for e in self.by_concern.get(concern, []) if e.section == name]


def load_taxonomy(path: Path) -> frozenset[str]:
    """Read the first-level names of the official three-level classification."""
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    if not rows or len(rows[0]) < 3:
        raise RuleFileError(str(path), 1, "第一行应为表头：一级分类,二级分类,三级分类")
    firsts = set()
    for row_number, row in enumerate(rows[1:], start=2):
        if len(row) != 3 or not all(cell.strip() for cell in row):
            raise RuleFileError(str(path), row_number, "应为三列，且都不能为空")
        firsts.add(row[0].strip())
    return frozenset(firsts)


def load_taxonomy_paths(path: Path) -> frozenset[str]:
    """Read every row of the taxonomy as a path "一级/二级/三级" (load_taxonomy checked it)."""
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))[1:]
    return frozenset("/".join(cell.strip() for cell in row) for row in rows if len(row) == 3)


def _lines(path: Path) -> Iterable[tuple[int, str]]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        why = "文件不存在" if isinstance(exc, FileNotFoundError) else exc.strerror
        raise RuleFileError(str(path), 0, f"无法读取：{why}") from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        bad_line = raw[: exc.start].count(b"\n") + 1
        raise RuleFileError(str(path), bad_line, "不是 UTF-8 编码的文本") from exc
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.split("#", 1)[0].strip()
        if stripped:
            yield number, stripped


def parse_file(path: Path, allowed: Sequence[str] | None, taxonomy: frozenset[str]) -> list[Entry]:
    """Parse one rule file; allowed=None means sections are category paths."""
    entries: list[Entry] = []
    section: str | None = None
    seen: dict[tuple[str, ...], int] = {}
    name = str(path)
    for number, line in _lines(path):
        header = _SECTION.match(line)
        if header:
            section = header.group("name").strip()
            _check_section(name, number, section, allowed, taxonomy)
            continue
        if section is None:
            raise RuleFileError(name, number, "关键词前面缺少 [分节] 标题")
        weighted = allowed is None or section in WEIGHTED
        entry = _parse_line(name, number, section, line, weighted)
        # a neighbours line may repeat its left side (one line per neighbour)
        key = (section, entry.key, entry.target or "") if section == "相近类别" else (
            section, entry.key
        )
        if key in seen:
            first = seen[key]
            raise RuleFileError(
                name,
                number,
                f"「{entry.key}」在 [{section}] 中与第 {first} 行重复",
            )
        seen[key] = number
        entries.append(entry)
    return entries


def _check_section(
    name: str, number: int, section: str, allowed: Sequence[str] | None, taxonomy: frozenset[str]
) -> None:
    if allowed is not None:
        if section not in allowed:
            expected = " ".join(f"[{a}]" for a in allowed)
            raise RuleFileError(name, number, f"不认识的分节 [{section}]（可用：{expected}）")
        return
    parts = section.split("/")
    if any(not p.strip() for p in parts):
        raise RuleFileError(name, number, f"分类路径 [{section}] 中有空的一级")
    if len(parts) > MAX_DEPTH:
        raise RuleFileError(name, number, f"分类路径超过 {MAX_DEPTH} 级")
    if parts[0] not in taxonomy:
        raise RuleFileError(
            name, number, f"一级分类「{parts[0]}」不在官方分类表中"
        )


def _parse_line(name: str, number: int, section: str, line: str, weighted: bool) -> Entry:
    if section in ("同义词", "相近类别"):
        alias = _ALIAS.match(line)
        if not alias:
            expected = "本地说法 => 标准说法" if section == "同义词" else "分类路径 => 分类路径"
            raise RuleFileError(name, number, f"应写成「{expected}」")
        return Entry(name, number, section, alias.group("key"), 1.0, alias.group("target"))
    match = _WEIGHTED.match(line)
    if not match:
        raise RuleFileError(name, number, f"应写成「关键词 [权重]」，实际是「{line}」")
    weight_text = match.group("weight")
    weight = float(weight_text) if weight_text else 1.0
    if weight_text and not weighted:
        raise RuleFileError(name, number, f"[{section}] 分节的关键词不带权重")
    if abs(weight) > MAX_WEIGHT or weight == 0:
        raise RuleFileError(name, number, f"权重须非零，且在 ±{MAX_WEIGHT:g} 以内")
    return Entry(name, number, section, match.group("key"), weight)


def read_rules(dirs: Sequence[Path], taxonomy_file: Path | None = None) -> RuleSet:
    """Read every rule file in the given directories (later ones add to earlier ones)."""
    taxonomy_path = taxonomy_file or SHIPPED_RULES / TAXONOMY_FILE
    rules = RuleSet(
        taxonomy=load_taxonomy(taxonomy_path), taxonomy_paths=load_taxonomy_paths(taxonomy_path)
    )
    for directory in dirs:
        if not directory.is_dir():
            raise RuleFileError(str(directory), 0, "规则目录不存在")
        for path in sorted(directory.iterdir()):
            _read_one(path, rules)
        category_dir = directory / CATEGORY_DIR
        if category_dir.is_dir():
            for path in sorted(category_dir.glob("*.txt")):
                rules.categories.extend(parse_file(path, None, rules.taxonomy))
                rules.files.append(str(path))
    return rules


def _read_one(path: Path, rules: RuleSet) -> None:
    if path.is_dir() or path.suffix != ".txt":
        return
    allowed = CONCERNS.get(path.name)
    if allowed is None:
        known = "、".join(sorted(CONCERNS))
        raise RuleFileError(str(path), 0, f"不认识的规则文件（可用的文件名：{known}）")
    rules.by_concern.setdefault(path.name, []).extend(parse_file(path, allowed, rules.taxonomy))
    rules.files.append(str(path))


def read_user_dict(path: Path) -> list[tuple[str, str | None]]:
    """Read a jieba user dictionary ('word [freq] [tag]' per line) as (word, tag) pairs."""
    words: list[tuple[str, str | None]] = []
    for number, line in _lines(path):
        parts = line.split()
        if len(parts) > 3:
            raise RuleFileError(str(path), number, "应写成「词语 [词频] [词性]」")
        tag: str | None = None
        if len(parts) >= 2:
            if parts[1].isdigit():
                tag = parts[2] if len(parts) == 3 else None
            elif len(parts) == 2:
                tag = parts[1]
            else:
                raise RuleFileError(str(path), number, f"词频「{parts[1]}」不是数字")
        words.append((parts[0], tag))
    return words
