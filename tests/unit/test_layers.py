"""The layers point one way: bot/ -> commands/ -> storage/, the handler kit below the
domains, and no import cycle between packages.

The imports are read from the source (every `import` and `from ... import`, at any
depth, type-checking ones included), so a violation fails here before it confuses a
reader.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOP = ("bot", "commands", "storage")


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports() -> dict[str, set[str]]:
    """module -> the project modules it imports."""
    found: dict[str, set[str]] = defaultdict(set)
    for top in TOP:
        for path in (ROOT / top).rglob("*.py"):
            module = _module(path)
            package = module if path.name == "__init__.py" else module.rpartition(".")[0]
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom):
                    base = node.module or ""
                    if node.level:
                        anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                        base = ".".join([*anchor, base] if base else anchor)
                    names = [base] + [f"{base}.{alias.name}" for alias in node.names]
                else:
                    continue
                found[module].update(n for n in names if n.split(".")[0] in TOP)
    return found


IMPORTS = _imports()


def _unit(module: str) -> str:
    """The unit a module belongs to: a top-level package, the kit, or one domain."""
    parts = module.split(".")
    if parts[0] == "commands" and len(parts) > 1:
        return f"commands.{parts[1]}"
    return parts[0]


def _edges() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = defaultdict(set)
    for module, imported in IMPORTS.items():
        for target in imported:
            if _unit(target) != _unit(module):
                edges[_unit(module)].add(_unit(target))
    return edges


def test_the_scan_sees_the_project() -> None:
    assert "bot.runtime" in IMPORTS
    assert "commands.kit.context" in IMPORTS
    assert "storage.models" in IMPORTS["commands.kit.context"] or any(
        t.startswith("storage") for t in IMPORTS["commands.kit.context"]
    )


@pytest.mark.parametrize("lower", ["commands", "storage"])
def test_nothing_below_the_runtime_imports_it(lower: str) -> None:
    offenders = sorted(
        f"{module} -> {target}"
        for module, imported in IMPORTS.items()
        if module.split(".")[0] == lower
        for target in imported
        if target.split(".")[0] == "bot"
    )
    assert offenders == []


def test_storage_imports_no_commands() -> None:
    offenders = sorted(
        f"{module} -> {target}"
        for module, imported in IMPORTS.items()
        if module.startswith("storage")
        for target in imported
        if target.startswith("commands")
    )
    assert offenders == []


def test_the_kit_imports_no_domain() -> None:
    offenders = sorted(
        f"{module} -> {target}"
        for module, imported in IMPORTS.items()
        if module.startswith("commands.kit")
        for target in imported
        if target.startswith("commands.") and not target.startswith("commands.kit")
    )
    assert offenders == []


def test_domains_import_only_the_kit_and_storage() -> None:
    """A domain reads another's records through storage, never through its code."""
    offenders = sorted(
        f"{module} -> {target}"
        for module, imported in IMPORTS.items()
        if module.startswith("commands.") and _unit(module) != "commands.kit"
        for target in imported
        if target.startswith("commands.") and _unit(target) not in ("commands.kit", _unit(module))
    )
    assert offenders == []


def find_cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    visiting: list[str] = []
    done: set[str] = set()
    cycles: list[list[str]] = []

    def visit(unit: str) -> None:
        if unit in visiting:
            cycles.append([*visiting[visiting.index(unit) :], unit])
            return
        if unit in done:
            return
        visiting.append(unit)
        for target in sorted(edges.get(unit, ())):
            visit(target)
        visiting.pop()
        done.add(unit)

    for unit in sorted(edges):
        visit(unit)
    return cycles


def test_the_cycle_finder_finds_cycles() -> None:
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]
    assert find_cycles({"a": {"b"}, "b": {"c"}}) == []


def test_no_cycle_between_packages() -> None:
    assert find_cycles(_edges()) == []
