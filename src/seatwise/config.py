"""Configuration, read once from the environment (DESIGN §8)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

# About 5 s, 30 s, 2 min, 10 min, 30 min, 1 h, 3 h: the waits before attempts 2..8.
WEBHOOK_BACKOFF = (5.0, 30.0, 120.0, 600.0, 1800.0, 3600.0, 10800.0)


def _seconds_list(text: str | None) -> tuple[float, ...]:
    if not text:
        return WEBHOOK_BACKOFF
    delays = tuple(float(part) for part in text.split(","))
    if not delays or any(d < 0 for d in delays):
        raise ValueError("SEATWISE_WEBHOOK_BACKOFF: comma-separated non-negative seconds")
    return delays


def _optional_int(text: str | None) -> int | None:
    return int(text) if text else None


@dataclass(frozen=True)
class Settings:
    database_url: str | None  # None: the embedded PostgreSQL under data_dir
    app_database_url: str | None  # the non-superuser application login; derived when None
    data_dir: Path
    host: str
    port: int
    admin_key: str | None
    database_name: str
    # Background jobs and webhooks (DESIGN §10).
    jobs_database_url: str | None = None  # the workers' login; derived (seatwise_jobs) when None
    webhook_key: str | None = None  # Fernet key sealing webhook secrets; generated into data_dir when None
    webhook_allow_private: bool = False  # also http and loopback/private addresses (dev, tests)
    webhook_backoff: tuple[float, ...] = WEBHOOK_BACKOFF  # seconds before attempts 2, 3, ...
    webhook_timeout_seconds: float = 5.0
    sweep_interval_seconds: int = 60
    relay_poll_seconds: float = 0.5
    worker_metrics_port: int | None = None  # the worker's own /metrics; off when None

    @property
    def pgdata(self) -> Path:
        return self.data_dir / "pg"


def load_settings() -> Settings:
    return Settings(
        database_url=os.environ.get("DATABASE_URL") or None,
        app_database_url=os.environ.get("SEATWISE_APP_DATABASE_URL") or None,
        data_dir=Path(os.environ.get("SEATWISE_DATA_DIR", ".data")).resolve(),
        host=os.environ.get("SEATWISE_HOST", "127.0.0.1"),
        port=int(os.environ.get("SEATWISE_PORT", "8000")),
        admin_key=os.environ.get("SEATWISE_ADMIN_KEY") or None,
        database_name=os.environ.get("SEATWISE_DATABASE", "seatwise"),
        jobs_database_url=os.environ.get("SEATWISE_JOBS_DATABASE_URL") or None,
        webhook_key=os.environ.get("SEATWISE_WEBHOOK_KEY") or None,
        webhook_allow_private=os.environ.get("SEATWISE_WEBHOOK_ALLOW_PRIVATE", "") in {"1", "true", "yes"},
        webhook_backoff=_seconds_list(os.environ.get("SEATWISE_WEBHOOK_BACKOFF")),
        webhook_timeout_seconds=float(os.environ.get("SEATWISE_WEBHOOK_TIMEOUT_SECONDS", "5")),
        sweep_interval_seconds=int(os.environ.get("SEATWISE_SWEEP_INTERVAL_SECONDS", "60")),
        relay_poll_seconds=float(os.environ.get("SEATWISE_RELAY_POLL_SECONDS", "0.5")),
        worker_metrics_port=_optional_int(os.environ.get("SEATWISE_WORKER_METRICS_PORT")),
    )
