"""Bring the system up: locate or start PostgreSQL, migrate, open the pool."""

from __future__ import annotations

import secrets
import warnings
from dataclasses import dataclass

from seatwise.config import Settings
from seatwise.services import snapshot
from seatwise.store import migrate, server
from seatwise.store.db import Database


@dataclass
class Runtime:
    settings: Settings
    server: server.Server
    db: Database
    admin_key: str

    def close(self) -> None:
        self.db.close()


def admin_key(settings: Settings) -> str:
    """SEATWISE_ADMIN_KEY, else one generated once and kept in the data folder."""
    if settings.admin_key:
        return settings.admin_key
    path = settings.data_dir / "admin-key"
    if path.exists():
        return path.read_text().strip()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    key = "sw_admin_" + secrets.token_urlsafe(32)
    path.write_text(key + "\n")
    path.chmod(0o600)
    return key


def start(settings: Settings, *, pool_size: int = 20) -> Runtime:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR as root
        srv = server.locate(settings)
    server.ensure_database(srv, settings.database_name)
    migrate.upgrade(srv.owner_url(settings.database_name))
    db = Database(srv.app_url(settings.database_name), max_size=pool_size)
    snapshot.configure(settings.venue_cache_size)
    return Runtime(settings, srv, db, admin_key(settings))
