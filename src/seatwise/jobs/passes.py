"""One pass of each job, counted in the worker's metrics: what the worker's tasks and
`seatwise jobs ...` both run."""

from __future__ import annotations

from collections.abc import Callable

from seatwise.jobs import metrics
from seatwise.runtime import Runtime
from seatwise.services import audit, jobs
from seatwise.services.common import utcnow
from seatwise.services.webhooks import Relay, RelayPass


def sweep_holds(rt: Runtime) -> jobs.SweepResult:
    return metrics.counted("sweep_holds", lambda: jobs.sweep_holds(rt.jobs_db, rt.db, utcnow()))


def archive_allocations(
    rt: Runtime,
    *,
    retention_days: int = jobs.RETENTION_DAYS,
    batch_size: int = jobs.ARCHIVE_BATCH,
    on_batch: Callable[[int], None] | None = None,
) -> jobs.ArchiveResult:
    return metrics.counted(
        "archive_allocations",
        lambda: jobs.archive_allocations(
            rt.jobs_db, utcnow(), retention_days=retention_days, batch_size=batch_size, on_batch=on_batch
        ),
    )


def prune_records(rt: Runtime) -> jobs.PruneResult:
    return metrics.counted("prune_records", lambda: jobs.prune_records(rt.jobs_db, utcnow()))


def ledger_audit(rt: Runtime) -> audit.AuditReport:
    return metrics.counted("ledger_audit", lambda: audit.run_audit(rt.jobs_db, utcnow()))


def relay_pass(relay: Relay) -> RelayPass:
    done = metrics.counted("relay_outbox", relay.run_once)
    for outcome, n in (("delivered", done.delivered), ("retrying", done.retrying), ("dead", done.dead)):
        if n:
            metrics.DELIVERIES.labels(outcome).inc(n)
    return done


def relay_until_idle(rt: Runtime) -> RelayPass:
    """Relay until nothing is due now (deliveries waiting for a later retry stay)."""
    total = RelayPass(0, 0, 0, 0, 0)
    with Relay(rt.jobs_db, rt.db, rt.secret_box, rt.relay_config) as relay:
        while not (done := relay_pass(relay)).idle:
            total = RelayPass(
                total.relayed + done.relayed,
                total.attempted + done.attempted,
                total.delivered + done.delivered,
                total.retrying + done.retrying,
                total.dead + done.dead,
            )
    return total
