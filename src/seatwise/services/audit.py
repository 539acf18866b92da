"""The ledger audit: what the constraints promise, checked on the stored ledger across
every tenant. Its findings must always be zero; `seatwise audit` and the worker's
periodic job run it and export `seatwise_audit_findings{kind}`.

Kinds: `overlap` (two live allocations on one table at once), `pacing` (a slot's
recorded usage differs from its bookings and holds, or exceeds its limit), `tables`
(a live booking whose assigned tables differ from its ledger rows), `orphan` (an
allocation of a booking that no longer occupies).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from seatwise import telemetry
from seatwise.store import audit as repo
from seatwise.store.db import Database

KINDS = ("overlap", "pacing", "tables", "orphan")


@dataclass(frozen=True, slots=True)
class Finding:
    kind: str
    restaurant_id: str
    detail: str


@dataclass(frozen=True, slots=True)
class AuditReport:
    at: datetime
    findings: tuple[Finding, ...]

    @property
    def counts(self) -> dict[str, int]:
        return {kind: sum(1 for f in self.findings if f.kind == kind) for kind in KINDS}

    @property
    def clean(self) -> bool:
        return not self.findings

    @property
    def rows(self) -> int:  # what the job metrics count
        return len(self.findings)


def run_audit(jobs_db: Database, now: datetime) -> AuditReport:
    """Audit every tenant's ledger (one statement, the workers' cross-tenant path) and
    export the counts."""
    with jobs_db.autocommit() as conn:
        rows = repo.ledger_findings(conn)
    report = AuditReport(now, tuple(Finding(r["kind"], r["restaurant_id"], r["detail"]) for r in rows))
    for kind, count in report.counts.items():
        telemetry.AUDIT_FINDINGS.labels(kind).set(count)
    telemetry.AUDIT_LAST_RUN.set(now.timestamp())
    return report
