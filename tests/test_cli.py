"""`seatwise venue import/export` as a user runs them, against the test database."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import psycopg
import yaml

from seatwise.core.venue_doc import normalise_document


def _cli(database_name: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SEATWISE_DATABASE": database_name}
    return subprocess.run(  # noqa: S603 - our own CLI
        [sys.executable, "-m", "seatwise.cli", *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_import_then_export_round_trips(tmp_path: Path, database_name: str, demo_document: dict[str, Any]) -> None:
    doc = copy.deepcopy(demo_document)
    doc["slug"] = f"cli-{uuid.uuid4().hex[:10]}"
    path = tmp_path / "venue.yaml"
    path.write_text(yaml.safe_dump(doc))
    imported = _cli(database_name, "venue", "import", str(path))
    assert imported.returncode == 0, imported.stderr
    created = json.loads(imported.stdout)
    assert created["slug"] == doc["slug"]
    assert set(created["api_keys"]) == {"staff", "channel"}
    exported = _cli(database_name, "venue", "export", created["id"])
    assert exported.returncode == 0, exported.stderr
    assert yaml.safe_load(exported.stdout) == normalise_document(doc)
    as_json = _cli(database_name, "venue", "export", created["id"], "--format", "json")
    assert json.loads(as_json.stdout) == normalise_document(doc)


def test_invalid_document_is_refused_whole_with_paths(
    tmp_path: Path, database_name: str, owner_url: str, demo_document: dict[str, Any]
) -> None:
    doc = copy.deepcopy(demo_document)
    doc["slug"] = f"cli-bad-{uuid.uuid4().hex[:8]}"
    doc["tables"][3]["zone"] = "patio"
    doc["adjacency"].append([doc["tables"][0]["label"], "NOPE"])
    path = tmp_path / "venue.json"
    path.write_text(json.dumps(doc))
    result = _cli(database_name, "venue", "import", str(path))
    assert result.returncode == 2
    assert "INVALID_VENUE" in result.stderr
    assert "tables[3].zone: unknown zone 'patio'" in result.stderr
    assert f"adjacency[{len(doc['adjacency']) - 1}][1]" in result.stderr
    with psycopg.connect(owner_url) as conn:
        assert conn.execute("SELECT count(*) FROM restaurants WHERE slug = %s", [doc["slug"]]).fetchone() == (0,)


def test_export_of_unknown_restaurant_fails_cleanly(database_name: str) -> None:
    for rid in (str(uuid.uuid4()), "not-an-id"):
        result = _cli(database_name, "venue", "export", rid)
        assert result.returncode == 2
        assert "NOT_FOUND" in result.stderr
        assert "Traceback" not in result.stderr
