"""Configuration, read once from the environment (DESIGN §8).

:func:`load_settings` is the only reader of the environment in the package: every
setting is a :class:`Settings` field, named by one variable in :data:`ENV_VARS`, and
listed in the README's configuration table (a test checks all three agree).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

# About 5 s, 30 s, 2 min, 10 min, 30 min, 1 h, 3 h: the waits before attempts 2..8.
WEBHOOK_BACKOFF = (5.0, 30.0, 120.0, 600.0, 1800.0, 3600.0, 10800.0)


@dataclass(frozen=True)
class Settings:
    database_url: str | None  # None: the embedded PostgreSQL under data_dir
    app_database_url: str | None  # the non-superuser application login; derived when None
    data_dir: Path
    host: str
    port: int
    admin_key: str | None
    database_name: str
    pool_size: int = 20  # connections per API process
    venue_cache_size: int = 1000  # venue snapshots kept per process (LRU over restaurants)
    # Background jobs and webhooks (DESIGN §10).
    jobs_database_url: str | None = None  # the workers' login; derived (seatwise_jobs) when None
    webhook_key: str | None = None  # Fernet key sealing webhook secrets; generated into data_dir when None
    webhook_allow_private: bool = False  # also http and loopback/private addresses (dev, tests)
    webhook_backoff: tuple[float, ...] = WEBHOOK_BACKOFF  # seconds before attempts 2, 3, ...
    webhook_timeout_seconds: float = 5.0
    sweep_interval_seconds: int = 60
    relay_poll_seconds: float = 0.5
    worker_metrics_port: int | None = None  # the worker's own /metrics; off when None
    session_secret: str | None = None  # signs dashboard cookies; generated into data_dir when None
    log_level: str = "INFO"  # INFO logs one JSON line per request; WARNING only problems

    @property
    def pgdata(self) -> Path:
        return self.data_dir / "pg"


# Settings field -> the environment variable that sets it.
ENV_VARS: Mapping[str, str] = {
    "database_url": "DATABASE_URL",
    "app_database_url": "SEATWISE_APP_DATABASE_URL",
    "data_dir": "SEATWISE_DATA_DIR",
    "host": "SEATWISE_HOST",
    "port": "SEATWISE_PORT",
    "admin_key": "SEATWISE_ADMIN_KEY",
    "database_name": "SEATWISE_DATABASE",
    "pool_size": "SEATWISE_POOL_SIZE",
    "venue_cache_size": "SEATWISE_VENUE_CACHE_SIZE",
    "jobs_database_url": "SEATWISE_JOBS_DATABASE_URL",
    "webhook_key": "SEATWISE_WEBHOOK_KEY",
    "webhook_allow_private": "SEATWISE_WEBHOOK_ALLOW_PRIVATE",
    "webhook_backoff": "SEATWISE_WEBHOOK_BACKOFF",
    "webhook_timeout_seconds": "SEATWISE_WEBHOOK_TIMEOUT_SECONDS",
    "sweep_interval_seconds": "SEATWISE_SWEEP_INTERVAL_SECONDS",
    "relay_poll_seconds": "SEATWISE_RELAY_POLL_SECONDS",
    "worker_metrics_port": "SEATWISE_WORKER_METRICS_PORT",
    "session_secret": "SEATWISE_SESSION_SECRET",
    "log_level": "SEATWISE_LOG_LEVEL",
}
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


class InvalidSetting(ValueError):
    """An environment variable holds a value its setting cannot take."""


def _integer(env: Mapping[str, str], field: str, default: int, low: int, high: int) -> int:
    name = ENV_VARS[field]
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidSetting(f"{name} must be an integer, got {raw!r}") from None
    if not low <= value <= high:
        raise InvalidSetting(f"{name} must be between {low} and {high}, got {value}")
    return value


def _seconds(env: Mapping[str, str], field: str, default: float, low: float, high: float) -> float:
    name = ENV_VARS[field]
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise InvalidSetting(f"{name} must be a number of seconds, got {raw!r}") from None
    if not low <= value <= high:
        raise InvalidSetting(f"{name} must be between {low} and {high}, got {value}")
    return value


def _flag(env: Mapping[str, str], field: str) -> bool:
    name = ENV_VARS[field]
    raw = env.get(name, "").strip().lower()
    if raw in ("", "0", "false", "no"):
        return False
    if raw in ("1", "true", "yes"):
        return True
    raise InvalidSetting(f"{name} must be 1 or 0, got {raw!r}")


def _backoff(env: Mapping[str, str]) -> tuple[float, ...]:
    name = ENV_VARS["webhook_backoff"]
    raw = env.get(name, "").strip()
    if not raw:
        return WEBHOOK_BACKOFF
    try:
        delays = tuple(float(part) for part in raw.split(","))
    except ValueError:
        raise InvalidSetting(f"{name} must be comma-separated seconds, got {raw!r}") from None
    if any(not 0 <= d <= 86400 for d in delays):
        raise InvalidSetting(f"{name}: each delay between 0 and 86400 seconds, got {raw!r}")
    return delays


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """The settings from `environ` (the process environment by default).

    An empty variable counts as unset. A malformed number raises :class:`InvalidSetting`
    naming the variable.
    """
    env = os.environ if environ is None else environ

    def text(field: str) -> str | None:
        return env.get(ENV_VARS[field]) or None

    return Settings(
        database_url=text("database_url"),
        app_database_url=text("app_database_url"),
        data_dir=Path(text("data_dir") or ".data").resolve(),
        host=text("host") or "127.0.0.1",
        port=_integer(env, "port", 8000, 1, 65535),
        admin_key=text("admin_key"),
        database_name=text("database_name") or "seatwise",
        pool_size=_integer(env, "pool_size", 20, 1, 1000),
        venue_cache_size=_integer(env, "venue_cache_size", 1000, 1, 1_000_000),
        jobs_database_url=text("jobs_database_url"),
        webhook_key=text("webhook_key"),
        webhook_allow_private=_flag(env, "webhook_allow_private"),
        webhook_backoff=_backoff(env),
        webhook_timeout_seconds=_seconds(env, "webhook_timeout_seconds", 5.0, 0.1, 60.0),
        sweep_interval_seconds=_integer(env, "sweep_interval_seconds", 60, 1, 86400),
        relay_poll_seconds=_seconds(env, "relay_poll_seconds", 0.5, 0.01, 60.0),
        worker_metrics_port=_integer(env, "worker_metrics_port", 0, 0, 65535) or None,
        session_secret=text("session_secret"),
        log_level=_log_level(text("log_level")),
    )


def _log_level(raw: str | None) -> str:
    level = (raw or "INFO").strip().upper()
    if level not in LOG_LEVELS:
        raise InvalidSetting(f"{ENV_VARS['log_level']} must be one of {', '.join(LOG_LEVELS)}, got {raw!r}")
    return level
