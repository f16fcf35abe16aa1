"""The import rules of ARCHITECTURE.md: the core never imports telegram, the product never
imports its tests, and services are grouped by the path a ticket takes."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CORE = ["nlp", "storage", "bot/domain.py", "bot/services", "bot/workdays.py", "bot/deadlines.py"]


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def _files(entry: str) -> list[Path]:
    p = ROOT / entry
    return [p] if p.is_file() else sorted(p.rglob("*.py"))


@pytest.mark.parametrize("entry", CORE)
def test_core_never_imports_telegram(entry: str) -> None:
    for f in _files(entry):
        assert "telegram" not in _imports(f), f"{f} imports telegram"


def test_nlp_imports_no_project_package() -> None:
    for f in _files("nlp"):
        assert not _imports(f) & {"bot", "storage", "handlers", "telegram"}, f


def test_simulator_imports_only_aiohttp_and_itself() -> None:
    for f in _files("bot/simulator"):
        bad = {n for n in _imports(f) if n in {"telegram", "storage", "handlers", "nlp"}}
        assert not bad, f"{f} imports {bad}"


def test_bot_package_init_is_empty() -> None:
    assert (ROOT / "bot" / "__init__.py").read_text() == ""


@pytest.mark.parametrize("entry", ["bot", "handlers", "nlp", "storage"])
def test_product_never_imports_the_test_harness(entry: str) -> None:
    for f in _files(entry):
        assert "tests" not in _imports(f), f"{f} imports tests"


# The stages a ticket passes through; only the shared building blocks sit beside them.
STAGES = {
    "intake",
    "handling",
    "notices",
    "rating",
    "supervision",
    "administration",
    "statistics",
}
SHARED = {"context.py", "gate.py", "tickets.py"}


def test_services_are_grouped_by_stage() -> None:
    services = ROOT / "bot" / "services"
    loose = {p.name for p in services.glob("*.py")} - SHARED
    assert not loose, f"service modules outside a stage package: {sorted(loose)}"
    packages = {p.name for p in services.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert packages <= STAGES, f"unknown service packages: {sorted(packages - STAGES)}"
