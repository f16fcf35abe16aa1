"""Departments, levels and routing rules as data (``bot/data/departments.toml``).

A `Directory` answers: which department handles a new ticket (`route`), which one sits above
a department (`parent`, for 提级 and 督办), and which department a name typed by staff means
(`find`). The file is validated once at start; an error names the file and the key.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bot.datafiles import read_toml
from bot.errors import DepartmentsFileError
from bot.workdays import DATA_DIR

__all__ = [
    "DEFAULT_DEPARTMENTS_FILE",
    "Department",
    "DepartmentsFileError",
    "Directory",
]

DEFAULT_DEPARTMENTS_FILE = DATA_DIR / "departments.toml"
_CODE_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,47}$")
_TOP_KEYS = {"format", "levels", "departments", "grids", "routes"}
_DEPT_KEYS = {"name", "level", "parent", "aliases"}


@dataclass(frozen=True, slots=True)
class Department:
    """One department: its stable code, name, level and the department above it."""

    code: str
    name: str
    level: str
    parent: str | None = None
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Directory:
    """Every department, the grids' communities and the category routes."""

    levels: tuple[str, ...]
    departments: Mapping[str, Department]
    grids: Mapping[str, str] = field(default_factory=dict)
    routes: tuple[tuple[tuple[str, ...], str], ...] = ()
    source: Path = DEFAULT_DEPARTMENTS_FILE

    @classmethod
    def load(cls, path: Path | None = None) -> Directory:
        """Read and validate a departments file (the shipped one by default)."""
        path = path or DEFAULT_DEPARTMENTS_FILE
        return _parse(read_toml(path, DepartmentsFileError), path)

    def get(self, code: str | None) -> Department | None:
        """Return the department with this code, or None."""
        return self.departments.get(code) if code else None

    def name(self, code: str | None) -> str:
        """Return a department's name (the code itself when the file no longer lists it)."""
        dept = self.get(code)
        return dept.name if dept else (code or "")

    def find(self, text: str) -> Department | None:
        """Return the department a person means by a code, name or alias, or None."""
        wanted = text.strip()
        if not wanted:
            return None
        if wanted in self.departments:
            return self.departments[wanted]
        for dept in self.departments.values():
            if wanted == dept.name or wanted in dept.aliases:
                return dept
        return None

    def parent(self, code: str | None) -> Department | None:
        """Return the department above this one (提级, 督办), or None at the top."""
        dept = self.get(code)
        return self.get(dept.parent) if dept else None

    def route(self, category: str, grid: str | None = None) -> str | None:
        """Return the code of the department for a new ticket, or None (to the dispatcher)."""
        if grid and grid in self.grids:
            return self.grids[grid]
        parts = tuple(p for p in category.split("/") if p)
        best: tuple[int, str | None] = (0, None)
        for prefix, code in self.routes:
            if len(prefix) > best[0] and parts[: len(prefix)] == prefix:
                best = (len(prefix), code)
        return best[1]


def _str(raw: object, path: Path, key: str) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise DepartmentsFileError(path, key, f"应为非空的字符串，实际是 {raw!r}")
    return raw.strip()


def _parse(doc: Mapping[str, object], path: Path) -> Directory:
    unknown = sorted(set(doc) - _TOP_KEYS)
    if unknown:
        raise DepartmentsFileError(
            path, unknown[0], f"不认识的键（可用的键：{'、'.join(sorted(_TOP_KEYS))}）"
        )
    if doc.get("format", 1) != 1:
        raise DepartmentsFileError(path, "format", f"不支持的格式版本 {doc['format']!r}（应为 1）")
    raw_levels = doc.get("levels")
    if not isinstance(raw_levels, list) or not raw_levels:
        raise DepartmentsFileError(path, "levels", "应为层级名称的列表，且不能为空")
    levels = tuple(_str(v, path, f"levels[{i}]") for i, v in enumerate(raw_levels))
    if len(set(levels)) != len(levels):
        raise DepartmentsFileError(path, "levels", "有层级重复出现")

    raw_depts = doc.get("departments")
    if not isinstance(raw_depts, dict) or not raw_depts:
        raise DepartmentsFileError(path, "departments", "缺少这个表，或者表是空的")
    departments: dict[str, Department] = {}
    names: dict[str, str] = {}
    for code, raw in raw_depts.items():
        where = f"departments.{code}"
        if not _CODE_RE.match(code):
            raise DepartmentsFileError(
                path,
                where,
                "部门代码只能由字母、数字和 _ 组成（最多 48 个字符）",
            )
        if not isinstance(raw, dict):
            raise DepartmentsFileError(path, where, "应为一个表（[departments.代码]）")
        extra = sorted(set(raw) - _DEPT_KEYS)
        if extra:
            raise DepartmentsFileError(
                path,
                f"{where}.{extra[0]}",
                "不认识的键（可用：name、level、parent、aliases）",
            )
        name = _str(raw.get("name"), path, f"{where}.name")
        level = _str(raw.get("level"), path, f"{where}.level")
        if level not in levels:
            raise DepartmentsFileError(
                path,
                f"{where}.level",
                f"{level!r} 不在 levels 列出的层级中",
            )
        parent = raw.get("parent")
        if parent is not None:
            parent = _str(parent, path, f"{where}.parent")
        aliases_raw = raw.get("aliases", [])
        if not isinstance(aliases_raw, list):
            raise DepartmentsFileError(path, f"{where}.aliases", "应为名称的列表")
        aliases = tuple(_str(a, path, f"{where}.aliases") for a in aliases_raw)
        for label in (name, *aliases):
            if label in names or (label in raw_depts and label != code):
                other = names.get(label, label)
                raise DepartmentsFileError(
                    path, f"{where}.name", f"{label!r} 同时是 departments.{other} 的名称或别名"
                )
            names[label] = code
        departments[code] = Department(code, name, level, parent, aliases)

    for code, dept in departments.items():
        if dept.parent is None:
            continue
        above = departments.get(dept.parent)
        key = f"departments.{code}.parent"
        if above is None:
            raise DepartmentsFileError(path, key, f"没有代码为 {dept.parent!r} 的部门")
        if levels.index(above.level) <= levels.index(dept.level):
            raise DepartmentsFileError(
                path, key, f"上级 {dept.parent}（{above.level}）的层级不高于本部门（{dept.level}）"
            )

    raw_grids = doc.get("grids", {})
    if not isinstance(raw_grids, dict):
        raise DepartmentsFileError(path, "grids", "应为一个表（[grids]）")
    grids: dict[str, str] = {}
    for grid, code in raw_grids.items():
        code = _str(code, path, f"grids.{grid}")
        if code not in departments:
            raise DepartmentsFileError(path, f"grids.{grid}", f"没有代码为 {code!r} 的部门")
        grids[grid] = code

    raw_routes = doc.get("routes", [])
    if not isinstance(raw_routes, list):
        raise DepartmentsFileError(path, "routes", "应为 [[routes]] 表")
    routes: list[tuple[tuple[str, ...], str]] = []
    seen: set[tuple[str, ...]] = set()
    for i, raw in enumerate(raw_routes):
        where = f"routes[{i}]"
        if not isinstance(raw, dict) or set(raw) != {"category", "department"}:
            raise DepartmentsFileError(path, where, "须且只须写 category 和 department 两个键")
        prefix = tuple(p for p in _str(raw["category"], path, f"{where}.category").split("/"))
        if any(not p.strip() for p in prefix):
            raise DepartmentsFileError(path, f"{where}.category", "分类路径中有空的一级")
        if prefix in seen:
            raise DepartmentsFileError(path, f"{where}.category", "这个分类路由了两次")
        seen.add(prefix)
        code = _str(raw["department"], path, f"{where}.department")
        if code not in departments:
            raise DepartmentsFileError(path, f"{where}.department", f"没有代码为 {code!r} 的部门")
        routes.append((prefix, code))
    return Directory(levels, departments, grids, tuple(routes), path)
