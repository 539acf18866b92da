"""`seatwise venue import/export` as a user runs them, against the test database."""

from __future__ import annotations

import copy
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import httpx
import psycopg
import yaml

from seatwise import runtime
from seatwise.core.venue_doc import normalise_document
from tests.conftest import free_port


def _cli(database_name: str, *args: str) -> subprocess.CompletedProcess[str]:
    return _cli_env({**os.environ, "SEATWISE_DATABASE": database_name}, *args)


def _cli_env(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
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


# --- a newcomer's first minutes: serve --demo from anywhere, db stop ---------------------

ROOT = Path(__file__).resolve().parent.parent
BLOCK_ROW = re.compile(r"^  (admin key|demo restaurant|staff key|channel key|kept in|stop the database)\s{2,}(.+)$")


def test_packaged_demo_venue_is_the_examples_file() -> None:
    packaged = resources.files("seatwise").joinpath("examples", "demo-bistro.yaml").read_text()
    assert packaged == (ROOT / "examples" / "demo-bistro.yaml").read_text()
    assert runtime.demo_document_text() == packaged


def _own_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """An environment with its own embedded server (never the one other tests use)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEATWISE_") and k != "DATABASE_URL"}
    return {**env, "SEATWISE_DATA_DIR": str(data_dir), **extra}


@dataclass
class Served:
    proc: subprocess.Popen[str]
    reader: threading.Thread
    block: dict[str, str]

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, sig)  # the server we started, by its pid
        self.proc.wait(timeout=30)
        self.reader.join(timeout=10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def _serve_demo(env: dict[str, str], cwd: Path, started: list[Served]) -> Served:
    """Start `seatwise serve --demo` (appended to `started`); return once it serves."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "seatwise.cli", "serve", "--demo"],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        for line in proc.stdout or ():
            lines.put(line)

    served = Served(proc, threading.Thread(target=read, daemon=True), {})
    served.reader.start()
    started.append(served)
    block = served.block
    seen: list[str] = []
    deadline = time.monotonic() + 120
    while "stop the database" not in block:
        try:
            line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
        except queue.Empty:
            raise AssertionError(f"no keys block in time: {seen}") from None
        seen.append(line)
        if match := BLOCK_ROW.match(line.rstrip("\n")):
            block[match[1]] = match[2].strip()
        assert proc.poll() is None or not lines.empty(), seen
    url = f"http://127.0.0.1:{env['SEATWISE_PORT']}"
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return served
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, seen
        assert proc.poll() is None, seen
        time.sleep(0.1)


def _postmaster_pid(pgdata: Path) -> int:
    return int((pgdata / "postmaster.pid").read_text().split()[0])


def _alive(pid: int) -> bool:
    """Running (a zombie left for a parent that never reaps it is not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _exits(pid: int, within: float = 10) -> bool:
    """Whether `pid` exits within `within` seconds (pg_ctl -w returns once the pid file
    is gone, a moment before the postmaster's last instruction)."""
    deadline = time.monotonic() + within
    while _alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_serve_demo_from_another_directory_prints_the_keys_then_db_stop_stops(tmp_path: Path) -> None:
    # Inside the worktree's data folder: as root, the server's own user must reach it.
    data_dir = ROOT / ".data" / f"cli-{uuid.uuid4().hex[:10]}"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = _own_env(data_dir, SEATWISE_PORT=str(free_port()))
    started: list[Served] = []
    try:
        first = _serve_demo(env, elsewhere, started)
        block = first.block
        saved = json.loads((data_dir / "demo-restaurant.json").read_text())
        rid = saved["id"]
        assert block["admin key"] == (data_dir / "admin-key").read_text().strip()
        assert block["demo restaurant"] == f"{rid}  (demo-bistro)"
        assert block["staff key"] == saved["api_keys"]["staff"]
        assert block["channel key"] == saved["api_keys"]["channel"]
        assert block["kept in"] == f"{data_dir / 'admin-key'}, {data_dir / 'demo-restaurant.json'}"
        assert block["stop the database"] == "seatwise db stop"
        url = f"http://127.0.0.1:{env['SEATWISE_PORT']}"
        with httpx.Client(base_url=url, timeout=30) as c:
            admin = c.get(f"/v1/restaurants/{rid}", headers={"Authorization": f"Bearer {block['admin key']}"})
            assert admin.status_code == 200, admin.text
            assert admin.json()["slug"] == "demo-bistro"
            availability = c.get(
                f"/v1/restaurants/{rid}/availability",
                params={"date": "2027-03-10", "party_size": 2},
                headers={"Authorization": f"Bearer {block['channel key']}"},
            )
            assert availability.status_code == 200, availability.text
        assert not (elsewhere / ".data").exists()  # nothing written where it was started
        first.stop()

        postmaster = _postmaster_pid(data_dir / "pg")
        assert _alive(postmaster)  # the embedded server outlives `serve`
        stopped = _cli_env(env, "db", "stop")
        assert stopped.returncode == 0, stopped.stderr
        assert stopped.stdout.startswith("stopped the embedded PostgreSQL")
        assert _exits(postmaster)
        assert not (data_dir / "pg" / "postmaster.pid").exists()

        # A second start restarts the server; the demo is loaded already, its keys read back.
        second = _serve_demo(env, elsewhere, started)
        assert second.block == block
        second.stop()
        assert _cli_env(env, "db", "stop").returncode == 0
        idle = _cli_env(env, "db", "stop")
        assert idle.returncode == 0, idle.stderr
        assert "is not running" in idle.stdout
    finally:
        for served in started:
            served.stop(signal.SIGKILL)
        if (data_dir / "pg" / "postmaster.pid").exists():
            _cli_env(env, "db", "stop")
        shutil.rmtree(data_dir, ignore_errors=True)


def test_db_stop_refuses_an_external_database(tmp_path: Path) -> None:
    result = _cli_env(_own_env(tmp_path, DATABASE_URL="postgresql://nobody@127.0.0.1:1/none"), "db", "stop")
    assert result.returncode == 2
    assert "DATABASE_URL is set" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_bad_setting_is_reported_without_a_traceback(tmp_path: Path) -> None:
    result = _cli_env(_own_env(tmp_path, SEATWISE_PORT="eighty"), "db", "stop")
    assert result.returncode == 2
    assert "SEATWISE_PORT must be an integer, got 'eighty'" in result.stderr
    assert "Traceback" not in result.stderr
