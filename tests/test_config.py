"""One reader of the environment (`seatwise.config`), and every setting documented."""

from __future__ import annotations

import ast
import re
from dataclasses import fields
from pathlib import Path

import pytest

from seatwise.config import ENV_VARS, InvalidSetting, Settings, load_settings

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "seatwise"
SETTING_NAME = re.compile(r"(SEATWISE_[A-Z0-9_]+|DATABASE_URL)")


def _environment_reads(path: Path) -> list[str]:
    """Every place in `path` that reads the environment or names a setting variable."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        where = f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Attribute) and node.attr in ("environ", "environb", "getenv", "getenvb"):
            found.append(f"{where}: .{node.attr}")
        elif isinstance(node, ast.ImportFrom) and node.module == "os":
            found += [f"{where}: from os import {a.name}" for a in node.names if "env" in a.name]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and SETTING_NAME.fullmatch(node.value):
            found.append(f"{where}: {node.value!r}")
    return found


def test_only_config_reads_the_environment() -> None:
    files = [p for p in SRC.rglob("*.py") if p != SRC / "config.py"]
    assert len(files) > 20  # the scan sees the package
    assert [hit for p in files for hit in _environment_reads(p)] == []


def test_the_scan_would_catch_a_reader() -> None:
    sneaky = ROOT / "src" / "seatwise" / "config.py"  # the one file allowed: it must be caught
    hits = _environment_reads(sneaky)
    assert any("environ" in h for h in hits)
    assert any("'SEATWISE_PORT'" in h for h in hits)


def test_every_settings_field_has_one_variable() -> None:
    assert set(ENV_VARS) == {f.name for f in fields(Settings)}
    assert len(set(ENV_VARS.values())) == len(ENV_VARS)


def _readme_configuration_table() -> dict[str, tuple[str, str]]:
    text = (ROOT / "README.md").read_text()
    section = text.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, tuple[str, str]] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or cells[0] in ("variable", "") or set(cells[0]) <= {"-"}:
            continue
        for name in re.findall(r"`([A-Z0-9_]+)`", cells[0]):
            rows[name] = (cells[1], cells[2])
    return rows


def test_readme_lists_every_variable_with_default_and_meaning() -> None:
    table = _readme_configuration_table()
    assert set(table) == set(ENV_VARS.values())
    for name, (default, meaning) in table.items():
        assert default, name
        assert meaning, name


def test_defaults_and_values() -> None:
    defaults = load_settings({})
    assert (defaults.host, defaults.port, defaults.database_name) == ("127.0.0.1", 8000, "seatwise")
    assert (defaults.pool_size, defaults.venue_cache_size) == (20, 1000)
    assert defaults.database_url is None
    assert defaults.admin_key is None
    assert defaults.data_dir == Path(".data").resolve()
    given = load_settings(
        {
            "DATABASE_URL": "postgresql://u@h/db",
            "SEATWISE_PORT": "8105",
            "SEATWISE_POOL_SIZE": "7",
            "SEATWISE_VENUE_CACHE_SIZE": "3",
            "SEATWISE_DATABASE": "other",
            "SEATWISE_ADMIN_KEY": "",  # empty counts as unset
        }
    )
    assert (given.database_url, given.port, given.pool_size, given.venue_cache_size) == (
        "postgresql://u@h/db",
        8105,
        7,
        3,
    )
    assert given.database_name == "other"
    assert given.admin_key is None


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("SEATWISE_PORT", "eighty", "SEATWISE_PORT must be an integer, got 'eighty'"),
        ("SEATWISE_PORT", "70000", "SEATWISE_PORT must be between 1 and 65535, got 70000"),
        ("SEATWISE_POOL_SIZE", "0", "SEATWISE_POOL_SIZE must be between 1 and 1000, got 0"),
        ("SEATWISE_VENUE_CACHE_SIZE", "-1", "SEATWISE_VENUE_CACHE_SIZE must be between 1 and 1000000, got -1"),
    ],
)
def test_a_bad_number_names_its_variable(name: str, value: str, message: str) -> None:
    with pytest.raises(InvalidSetting, match=re.escape(message)):
        load_settings({name: value})
