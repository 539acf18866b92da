"""Domain metrics: one Prometheus registry, importable by every layer but the core.

Names start with `seatwise_`. Each process keeps its own registry (the API workers
and the job worker each expose theirs); Prometheus sums them. Labels are bounded sets
(error codes, channels, job names), never restaurant ids or guest data.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info

REGISTRY = CollectorRegistry()

BOOKINGS_CREATED = Counter(
    "seatwise_bookings_created_total",
    "Bookings created, by how (direct booking, confirmed hold) and the caller's role",
    ["via", "role"],
    registry=REGISTRY,
)
REFUSALS = Counter(
    "seatwise_refusals_total",
    "Requests refused with a problem document, by error code",
    ["code"],
    registry=REGISTRY,
)
SHADOW_REFUSALS = Counter(
    "seatwise_shadow_refusals_total",
    "Bookings accepted in shadow mode that enforcement would have refused, by the code it would have answered",
    ["reason"],
    registry=REGISTRY,
)
HOLDS_CREATED = Counter("seatwise_holds_created_total", "Holds created", registry=REGISTRY)
HOLDS_EXPIRED = Counter(
    "seatwise_holds_expired_total", "Expired holds announced (hold.expired) by the sweeper", registry=REGISTRY
)
RETRIES = Counter(
    "seatwise_transaction_retries_total",
    "Use cases re-planned on a fresh ledger after a concurrent writer's conflict, by cause",
    ["cause"],
    registry=REGISTRY,
)
PACING_UTILISATION = Histogram(
    "seatwise_pacing_utilisation_ratio",
    "Share of a slot's cover limit in use right after a booking or hold was counted in",
    registry=REGISTRY,
    buckets=(0.25, 0.5, 0.75, 0.9, 1.0),
)
AUDIT_FINDINGS = Gauge(
    "seatwise_audit_findings",
    "Findings of the last ledger audit, by kind (must always be zero)",
    ["kind"],
    registry=REGISTRY,
)
AUDIT_LAST_RUN = Gauge(
    "seatwise_audit_last_run_timestamp_seconds", "When the last ledger audit finished", registry=REGISTRY
)
AVAILABILITY_ANSWERS = Counter(
    "seatwise_availability_answers_total",
    "Availability answers, by source: cache (versions unchanged) or computed",
    ["source"],
    registry=REGISTRY,
)
REFUSALS_KEPT = Counter(
    "seatwise_refusals_kept_total",
    "No-room refusals kept by ledger version (kept) and answered from them (hit)",
    ["outcome"],
    registry=REGISTRY,
)
GC_FROZEN_OBJECTS = Gauge(
    "seatwise_gc_frozen_objects",
    "Objects this API worker froze out of Python's garbage collections once started (api.heap)",
    registry=REGISTRY,
)
GC_FULL_COLLECTION_SECONDS = Histogram(
    "seatwise_gc_full_collection_seconds",
    "Pause of one full (generation 2) garbage collection of this API worker",
    registry=REGISTRY,
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
)
WORKER = Info("seatwise_worker", "The worker process this scrape came from", registry=REGISTRY)
RESEATS = Counter(
    "seatwise_reseats_total",
    "Re-seating on a refusal (DESIGN §13), by outcome: applied, infeasible, timeout, stale",
    ["outcome"],
    registry=REGISTRY,
)
SEATING_SOLVE_SECONDS = Histogram(
    "seatwise_seating_solve_seconds",
    "Wall time of one CP-SAT seating solve, by use (reseat, optimize)",
    ["use"],
    registry=REGISTRY,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.5, 1.0, 2.0),
)
