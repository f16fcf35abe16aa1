"""The import rules of ARCHITECTURE.md: the core never imports telegram, the product never
imports its tests, and services are grouped by the path a ticket takes."""

from __future__ import annotations

import ast
import re
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


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _project_imports(path: Path, known: set[str]) -> set[str]:
    """The project modules `path` imports (anywhere in it, function bodies included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        else:
            continue
        found.update(n for n in names if n in known)
    return found


def test_services_import_no_cycle() -> None:
    files = _files("bot/services")
    known = {_module(f) for f in files}
    graph = {_module(f): _project_imports(f, known) - {_module(f)} for f in files}
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> None:
        if name in path:
            loop = [*path[path.index(name) :], name]
            raise AssertionError("import cycle: " + " → ".join(loop))
        if name in done:
            return
        for other in sorted(graph[name]):
            visit(other, [*path, name])
        done.add(name)

    for name in sorted(graph):
        visit(name, [])


@pytest.mark.parametrize("entry", ["bot/services", "bot/domain.py", "storage", "nlp"])
def test_core_never_imports_handlers_delivery_or_the_app(entry: str) -> None:
    outer = {"handlers", "bot.delivery", "bot.app", "bot.intake", "bot.web", "bot.cli"}
    for f in _files(entry):
        tree = ast.parse(f.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            else:
                continue
            bad = [n for n in names if any(n == o or n.startswith(o + ".") for o in outer)]
            assert not bad, f"{f} imports {bad}"


WIRE = {"inline_keyboard", "force_reply", "reply_parameters", "reply_markup", "callback_data"}
WIRE_METHODS = re.compile(r"^(send|edit|delete)[A-Z]\w+$")


@pytest.mark.parametrize("entry", ["bot", "handlers", "storage"])
def test_only_delivery_speaks_the_bot_api_wire_format(entry: str) -> None:
    # The intake reads updates as Telegram sends them (incoming JSON), the delivery layer
    # writes what goes out; everything else speaks in intents.
    allowed = ("bot/delivery/", "bot/intake/", "bot/simulator/", "storage/migrations/")
    for f in _files(entry):
        rel = f.relative_to(ROOT).as_posix()
        if rel.startswith(allowed):
            continue
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                assert node.value not in WIRE, f"{rel}:{node.lineno} builds {node.value!r}"
                assert not WIRE_METHODS.match(node.value), f"{rel}:{node.lineno} {node.value!r}"
