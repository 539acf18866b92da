"""Background jobs throughput (issue 10): the outbox relay and allocation archival.

(a) Relay: EVENTS outbox events for one webhook, delivered by one `Relay` (16 sending
    threads, batches of 200) to a stdlib HTTP receiver in its own process on
    loopback. Baseline in the same run: the same number of signed POSTs sent straight
    to the same receiver with the same client and concurrency, no database at all.
    The ratio says what the claiming, recording and delivery log cost.
(b) Archival: ROWS allocations older than the retention, moved by
    `archive_allocations` in batches of 500 and 2000. Baseline in the same run: the
    same rows moved by one statement of the same shape (one batch of everything).

Each figure is the median over RUNS runs. Prints a table, writes
bench/results/jobs-*.json. Run: `.venv/bin/python bench/jobs.py`.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import httpx
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ADMIN_KEY, ROOT, fresh_database, median_of_runs, pg, print_table, write_result

from seatwise.config import load_settings
from seatwise.core.venue_doc import load_document_text
from seatwise.runtime import Runtime
from seatwise.services import jobs, restaurants, webhooks
from seatwise.services.common import utcnow
from seatwise.services.sealing import SecretBox
from seatwise.store import server
from seatwise.store.db import Database

DB = "seatwise_bench_jobs"
RUNS = 3
EVENTS = 2000
ROWS = 20_000
TABLES = 20

RECEIVER = """
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", "0")))
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()
    def log_message(self, *args):
        pass

server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
print(server.server_address[1], flush=True)
server.serve_forever()
"""


def runtime(srv: server.Server, name: str) -> Runtime:
    settings = replace(
        load_settings(),
        database_name=name,
        admin_key=ADMIN_KEY,
        webhook_key=SecretBox.new_key(),
        webhook_allow_private=True,
        webhook_backoff=(0.05,) * 7,
    )
    return Runtime(settings, srv, Database(srv.app_url(name), max_size=20), ADMIN_KEY)


def seed_events(owner_url: str, rid: str, n: int) -> None:
    with psycopg.connect(owner_url) as conn:
        conn.execute(
            """INSERT INTO outbox (restaurant_id, event, payload)
               SELECT %s, 'booking.created', jsonb_build_object('id', gen_random_uuid(), 'party_size', 2,
                   'status', 'confirmed', 'tables', jsonb_build_array('T1'))
               FROM generate_series(1, %s)""",
            [rid, n],
        )


def relay_run(rt: Runtime, owner_url: str, rid: str) -> float:
    seed_events(owner_url, rid, EVENTS)
    config = replace(rt.relay_config, concurrency=16, batch_size=200)
    with webhooks.Relay(rt.jobs_db, rt.db, rt.secret_box, config) as relay:
        started = time.perf_counter()
        delivered = 0
        while delivered < EVENTS:  # a retried attempt (a kept-alive connection the receiver closed) counts once
            done = relay.run_once()
            delivered += done.delivered
            assert done.dead == 0, done
        return EVENTS / (time.perf_counter() - started)


def raw_run(port: int) -> float:
    secret = webhooks.new_secret()
    claim = {"event_id": 1, "event": "booking.created", "created_at": utcnow(), "restaurant_id": "r", "payload": {}}
    transport = httpx.HTTPTransport(
        socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)], limits=httpx.Limits(max_connections=32)
    )
    with httpx.Client(transport=transport, trust_env=False, timeout=5) as client, ThreadPoolExecutor(16) as pool:

        def send(i: int) -> int:
            body, headers = webhooks.signed_request({**claim, "event_id": i}, secret, time.time())
            return client.post(f"http://127.0.0.1:{port}/hook", content=body, headers=headers).status_code

        started = time.perf_counter()
        statuses = list(pool.map(send, range(EVENTS)))
        elapsed = time.perf_counter() - started
    assert statuses.count(200) == EVENTS
    return EVENTS / elapsed


def seed_allocations(owner_url: str, rid: str) -> None:
    with psycopg.connect(owner_url) as conn:
        conn.execute("DELETE FROM allocations_archive WHERE restaurant_id = %s", [rid])
        conn.execute("DELETE FROM blocks WHERE restaurant_id = %s", [rid])
        conn.execute(
            """WITH t AS (SELECT id, row_number() OVER (ORDER BY id) - 1 AS k FROM dining_tables
                          WHERE restaurant_id = %(rid)s),
               spans AS (
                   SELECT gen_random_uuid() AS block_id, t.id AS table_id,
                          now() - interval '400 days' + (n / %(tables)s) * interval '1 hour' AS lo
                   FROM generate_series(0, %(rows)s - 1) n JOIN t ON t.k = n %% %(tables)s),
               b AS (INSERT INTO blocks (restaurant_id, id, start_at, end_at)
                     SELECT %(rid)s, block_id, lo, lo + interval '1 hour' FROM spans RETURNING 1)
               INSERT INTO allocations (restaurant_id, table_id, during, block_id)
               SELECT %(rid)s, table_id, tstzrange(lo, lo + interval '1 hour', '[)'), block_id FROM spans""",
            {"rid": rid, "rows": ROWS, "tables": TABLES},
        )
        conn.execute("ANALYZE allocations")


def archive_run(rt: Runtime, owner_url: str, rid: str, batch: int) -> float:
    seed_allocations(owner_url, rid)
    started = time.perf_counter()
    done = jobs.archive_allocations(rt.jobs_db, utcnow(), batch_size=batch)
    elapsed = time.perf_counter() - started
    assert done.archived == ROWS, done
    return ROWS / elapsed


def main() -> None:
    srv = pg()
    owner_url = fresh_database(srv, DB)
    rt = runtime(srv, DB)
    doc = load_document_text((ROOT / "examples" / "demo-bistro.yaml").read_text())
    assert isinstance(doc, dict)
    made = restaurants.create_restaurant(rt.db, {**doc, "slug": f"bench-{uuid.uuid4().hex[:8]}"})
    rid = made.id
    receiver = subprocess.Popen([sys.executable, "-c", RECEIVER], stdout=subprocess.PIPE, text=True)  # noqa: S603
    try:
        assert receiver.stdout is not None
        port = int(receiver.stdout.readline())
        webhooks.register(
            rt.db,
            rid,
            webhooks.WebhookRequest(f"http://127.0.0.1:{port}/hook", ["*"]),
            rt.secret_box,
            allow_private=True,
        )
        relay = median_of_runs([{"relay": relay_run(rt, owner_url, rid), "raw": raw_run(port)} for _ in range(RUNS)])
    finally:
        receiver.terminate()
        receiver.wait(timeout=10)
        if receiver.stdout is not None:
            receiver.stdout.close()
    archive = median_of_runs(
        [
            {
                "batch_500": archive_run(rt, owner_url, rid, 500),
                "batch_2000": archive_run(rt, owner_url, rid, 2000),
                "one_statement": archive_run(rt, owner_url, rid, ROWS),
            }
            for _ in range(RUNS)
        ]
    )
    rt.close()

    print_table(
        f"Outbox relay, {EVENTS} events to a loopback receiver (median of {RUNS})",
        ["path", "events/s", "vs raw POSTs"],
        [
            ["relay (claim, sign, POST, record)", round(relay["relay"]), f"{relay['relay'] / relay['raw']:.2f}"],
            ["raw signed POSTs, no database", round(relay["raw"]), "1.00"],
        ],
    )
    print_table(
        f"Allocation archival, {ROWS} rows (median of {RUNS})",
        ["batch size", "rows/s", "vs one statement"],
        [
            [name, round(archive[name]), f"{archive[name] / archive['one_statement']:.2f}"]
            for name in ("batch_500", "batch_2000", "one_statement")
        ],
    )
    path = write_result(
        "jobs",
        {
            "events": EVENTS,
            "rows": ROWS,
            "runs": RUNS,
            "relay_events_per_second": relay,
            "archival_rows_per_second": archive,
        },
    )
    print(f"\nwrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
