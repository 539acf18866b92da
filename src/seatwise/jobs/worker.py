"""The worker process: procrastinate runs the periodic jobs, and the outbox relay
runs continuously beside it (a thread polling every SEATWISE_RELAY_POLL_SECONDS
while idle, without pause while there is work).

Several workers may run at once (one process each): procrastinate defers each
periodic tick once across them, and every job is safe to run concurrently anyway
(SKIP LOCKED claims, one-statement batches).
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import os
import signal
import subprocess
import sys
import threading

from procrastinate import App, PsycopgConnector

from seatwise.config import Settings
from seatwise.jobs import metrics
from seatwise.jobs.passes import archive_allocations, ledger_audit, prune_records, relay_pass, sweep_holds
from seatwise.runtime import Runtime
from seatwise.services.webhooks import Relay

_log = logging.getLogger(__name__)

ARCHIVAL_CRON = "17 3 * * *"  # daily, at a quiet hour (UTC)
RETENTION_CRON = "47 3 * * *"
AUDIT_CRON = "*/5 * * * *"  # the ledger audit: every 5 minutes (SeatwiseAuditNotRunning fires after 30)


def interval_cron(seconds: int) -> str:
    """A procrastinate cron (seconds as the 6th field) that fires every `seconds`.

    Cron counts from the top of the minute or hour, so the interval must divide a
    minute, or be whole minutes dividing an hour, or whole hours dividing a day."""
    if seconds < 1:
        raise ValueError("SEATWISE_SWEEP_INTERVAL_SECONDS must be at least 1")
    if seconds < 60 and 60 % seconds == 0:
        return f"* * * * * */{seconds}"
    if seconds % 60 == 0 and seconds < 3600 and 60 % (seconds // 60) == 0:
        return f"*/{seconds // 60} * * * *"
    if seconds % 3600 == 0 and 24 % (seconds // 3600) == 0:
        return f"0 */{seconds // 3600} * * *"
    raise ValueError(f"SEATWISE_SWEEP_INTERVAL_SECONDS={seconds}: use a divisor of 60 s, 60 min or 24 h")


def build_app(rt: Runtime) -> App:
    """The procrastinate app with the periodic jobs, bound to this worker's pools."""
    app = App(connector=PsycopgConnector(conninfo=rt.jobs_url))
    cron = interval_cron(rt.settings.sweep_interval_seconds)

    @app.periodic(cron=cron)
    @app.task(name="seatwise.sweep_holds", queue="maintenance")
    def sweep_holds_task(timestamp: int) -> None:  # noqa: ARG001 - procrastinate passes the tick
        sweep_holds(rt)

    @app.periodic(cron=ARCHIVAL_CRON)
    @app.task(name="seatwise.archive_allocations", queue="maintenance")
    def archive_task(timestamp: int) -> None:  # noqa: ARG001 - procrastinate passes the tick
        archive_allocations(rt)

    @app.periodic(cron=RETENTION_CRON)
    @app.task(name="seatwise.prune_records", queue="maintenance")
    def prune_task(timestamp: int) -> None:  # noqa: ARG001 - procrastinate passes the tick
        prune_records(rt)

    @app.periodic(cron=AUDIT_CRON)
    @app.task(name="seatwise.ledger_audit", queue="maintenance")
    def audit_task(timestamp: int) -> None:  # noqa: ARG001 - procrastinate passes the tick
        report = ledger_audit(rt)
        if not report.clean:
            _log.error("ledger audit findings", extra={"findings": report.counts})

    return app


def relay_forever(relay: Relay, stop: threading.Event, poll_seconds: float) -> None:
    while not stop.is_set():
        try:
            done = relay_pass(relay)
        except Exception:
            _log.exception("relay pass failed")
            stop.wait(poll_seconds)
            continue
        if done.idle:
            stop.wait(poll_seconds)


def run(rt: Runtime) -> None:
    """Run every job until SIGINT or SIGTERM."""
    settings = rt.settings
    if settings.worker_metrics_port:
        metrics.serve(settings.host, settings.worker_metrics_port)
    relay = Relay(rt.jobs_db, rt.db, rt.secret_box, rt.relay_config)
    stop = threading.Event()
    relay_thread = threading.Thread(
        target=relay_forever, args=(relay, stop, settings.relay_poll_seconds), name="relay", daemon=True
    )
    app = build_app(rt)

    async def main() -> None:
        async with app.open_async():
            await app.run_worker_async(
                concurrency=2,
                delete_jobs="successful",
                name=f"seatwise-{os.getpid()}",
                install_signal_handlers=True,
            )

    relay_thread.start()
    try:
        asyncio.run(main())
    finally:
        stop.set()
        relay_thread.join(timeout=30)
        relay.close()


def relay_until_signalled(rt: Runtime) -> None:
    """The relay alone, in the foreground, until SIGINT or SIGTERM."""
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    with Relay(rt.jobs_db, rt.db, rt.secret_box, rt.relay_config) as relay:
        relay_forever(relay, stop, rt.settings.relay_poll_seconds)


def spawn(settings: Settings) -> subprocess.Popen[bytes]:
    """Start `seatwise worker` as a child process (what `seatwise serve` does), with the
    same environment, its metrics on the API port + 1 unless configured otherwise."""
    port = settings.worker_metrics_port or settings.port + 1
    preexec = _die_with_parent if sys.platform == "linux" else None  # one prctl call: safe before exec
    command = [sys.executable, "-m", "seatwise.cli", "worker", "--metrics-port", str(port)]
    return subprocess.Popen(command, preexec_fn=preexec)  # noqa: S603 - our own program, fixed arguments


def _die_with_parent() -> None:
    """In the child, before exec: SIGTERM when the parent dies, even by SIGKILL, so a
    killed `seatwise serve` never leaves its worker behind."""
    pr_set_pdeathsig = 1
    ctypes.CDLL(None).prctl(pr_set_pdeathsig, signal.SIGTERM)
