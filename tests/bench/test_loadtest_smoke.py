"""A 10-second smoke run of the load test (bench/loadtest.py) with its ledger audit.

The real thing end to end: its own embedded PostgreSQL (a data folder of its own under
.data/), `seatwise serve --workers 2` on a loopback port, Locust in another process
with the full mix, then the SQL audit. Bounded: 10 s of load, 20,000 requests at most,
the whole run killed after 240 s.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

from seatwise.config import load_settings
from seatwise.store import server

ROOT = Path(__file__).resolve().parents[2]
PORT = 8109  # this checkout's second port (bench/loadtest.py defaults to 8108)
DATA = ROOT / ".data" / "loadtest-smoke"


def test_loadtest_smoke_run_has_no_5xx_and_a_clean_audit(tmp_path: Path) -> None:
    cmd = [
        sys.executable,
        str(ROOT / "bench" / "loadtest.py"),
        "--duration=10",
        "--max-requests=20000",
        "--restaurants=5",
        "--users=6",
        "--no-fault",
        "--sweep=",
        f"--port={PORT}",
        "--worker-metrics-port=8108",  # the first of this checkout's two ports
        f"--data-dir={DATA}",
        f"--out={tmp_path}",
    ]
    embedded = replace(load_settings(), data_dir=DATA, database_url=None)
    was_running = server.embedded_running(embedded)
    run = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=240, check=False)  # noqa: S603
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    # The run stopped the PostgreSQL it started (one already running is left running).
    assert server.embedded_running(embedded) == was_running
    result = json.loads((tmp_path / "loadtest.json").read_text())
    stats = result["stats"]
    # The load happened, with every part of the mix.
    assert stats["requests"] >= 30  # 100+ on a quiet machine; 10 s on a saturated shared one gave 100
    assert {"availability", "hold", "confirm", "booking"} <= set(stats["endpoints"])
    assert stats["endpoints"]["availability"]["statuses"].get("200", 0) > 0
    assert stats["endpoints"]["confirm"]["statuses"].get("201", 0) > 0
    # No 5xx outside a fault window (none in this run), no dropped connections.
    assert stats["5xx_outside_fault_windows"] == {}
    assert stats["5xx_total"] == 0
    assert stats["connection_errors_outside_fault_windows"] == {}
    # The ledger audit ran over real rows and found nothing.
    audit = result["audit"]
    assert audit["ledger"]["bookings"] > 0
    assert audit["findings"] == 0, audit
    assert set(audit["checks"]) >= {
        "overlapping_allocations",
        "pacing_mismatches",
        "live_bookings_without_tables",
        "orphan_allocations",
    }
    assert (tmp_path / "loadtest.md").read_text().startswith("# Load test")
    # Memory of every server process was sampled.
    assert result["memory"]["peak_total_pss_mb"]["api"] > 0
