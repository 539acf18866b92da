"""Configuration, read once from the environment (DESIGN §8)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    database_url: str | None  # None: the embedded PostgreSQL under data_dir
    app_database_url: str | None  # the non-superuser application login; derived when None
    data_dir: Path
    host: str
    port: int
    admin_key: str | None
    database_name: str
    session_secret: str | None = None  # signs dashboard cookies; generated into data_dir when None

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
        session_secret=os.environ.get("SEATWISE_SESSION_SECRET") or None,
    )
