"""The layers of docs/architecture.md, checked on the source: an import that crosses
them fails here (core imports only core; only services reach the store; shells
never touch SQL)."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src" / "seatwise"

SHELL = frozenset({"core", "services", "runtime", "config", "telemetry", "logs"})
ALLOWED: dict[str, frozenset[str]] = {
    "core": frozenset({"core"}),
    "store": frozenset({"core", "config", "store", "telemetry"}),
    "services": frozenset({"core", "store", "services", "telemetry"}),
    "api": SHELL | {"api", "web"},
    "web": SHELL | {"web"},
    "jobs": SHELL | {"jobs"},
}


def _seatwise_imports(path: Path) -> set[str]:
    """The first component under `seatwise` of every import in the file."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == "seatwise" and len(parts) > 1:
                found.add(parts[1])
    return found


def test_each_layer_imports_only_what_it_may() -> None:
    crossings = []
    for layer, allowed in ALLOWED.items():
        for path in sorted((SRC / layer).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            for imported in sorted(_seatwise_imports(path) - allowed):
                crossings.append(f"{path.relative_to(SRC)} imports seatwise.{imported}")
    assert crossings == []


def test_the_checker_sees_a_crossing(tmp_path: Path) -> None:
    bad = tmp_path / "x.py"
    bad.write_text("from seatwise.store import ledger\nimport seatwise.services.holds\n")
    assert _seatwise_imports(bad) == {"store", "services"}
