"""Bring the system up: locate or start PostgreSQL, migrate, open the pool."""

from __future__ import annotations

import json
import os
import secrets
import time
import warnings
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from pathlib import Path

from seatwise.config import Settings
from seatwise.core.errors import SlugTaken
from seatwise.services import snapshot
from seatwise.services.sealing import SecretBox
from seatwise.services.webhooks import RelayConfig
from seatwise.store import migrate, server
from seatwise.store.db import Database
from seatwise.store.probe import AsyncReads


@dataclass
class Runtime:
    settings: Settings
    server: server.Server
    db: Database
    admin_key: str
    # The event loop's pool for read probes (opened on first use, inside the loop).
    reads: AsyncReads = field(init=False)

    def __post_init__(self) -> None:
        self.reads = AsyncReads(self.db.url)

    def close(self) -> None:
        self.db.close()
        if "jobs_db" in self.__dict__:
            self.jobs_db.close()

    @cached_property
    def secret_box(self) -> SecretBox:
        """Seals webhook secrets with SEATWISE_WEBHOOK_KEY (or the data folder's key)."""
        return SecretBox(webhook_key(self.settings))

    @property
    def relay_config(self) -> RelayConfig:
        s = self.settings
        return RelayConfig(s.webhook_allow_private, s.webhook_backoff, s.webhook_timeout_seconds)

    @cached_property
    def jobs_db(self) -> Database:
        """A pool of the workers' role: procrastinate's tables and the cross-tenant job
        functions (opened on first use: the API never needs it)."""
        return Database(self.jobs_url, min_size=1, max_size=4)

    @property
    def jobs_url(self) -> str:
        return self.server.jobs_url(self.settings.database_name)


def admin_key_path(settings: Settings) -> Path:
    return settings.data_dir / "admin-key"


def admin_key(settings: Settings) -> str:
    """SEATWISE_ADMIN_KEY, else one generated once and kept in the data folder."""
    if settings.admin_key:
        return settings.admin_key
    path = admin_key_path(settings)
    if path.exists():
        return path.read_text().strip()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    key = "sw_admin_" + secrets.token_urlsafe(32)
    path.write_text(key + "\n")
    path.chmod(0o600)
    return key


def webhook_key(settings: Settings) -> str:
    """SEATWISE_WEBHOOK_KEY, else one generated once and kept in the data folder (like
    the admin key): a database dump alone never holds the key to the secrets in it."""
    if settings.webhook_key:
        return settings.webhook_key
    path = settings.data_dir / "webhook-key"
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    try:  # exclusive create: processes starting together (API, worker) agree on one key
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(50):  # the creator writes right after creating
            if key := path.read_text().strip():
                return key
            time.sleep(0.01)
        raise RuntimeError(f"{path} is empty") from None
    key = SecretBox.new_key()
    with os.fdopen(fd, "w") as out:
        out.write(key + "\n")
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


DEMO_SLUG = "demo-bistro"


def demo_document_text() -> str:
    """The demo venue, shipped inside the package (the same file as examples/demo-bistro.yaml)."""
    return resources.files("seatwise").joinpath("examples", "demo-bistro.yaml").read_text()


@dataclass(frozen=True)
class Demo:
    """The demo restaurant as `serve --demo` shows it. `keys` is empty when it was
    loaded earlier and its keys were not kept in this data folder."""

    slug: str
    restaurant_id: str | None
    keys: dict[str, str]
    kept_in: Path


def demo_keys_path(settings: Settings) -> Path:
    return settings.data_dir / "demo-restaurant.json"


def load_demo(rt: Runtime) -> Demo:
    """Create the demo restaurant once; its id and keys are kept in the data folder
    (mode 0600, a development convenience) and read back on later starts."""
    from seatwise.core.venue_doc import load_document_text
    from seatwise.services import restaurants
    from seatwise.services.results import to_json

    saved = demo_keys_path(rt.settings)
    try:
        created = to_json(restaurants.create_restaurant(rt.db, load_document_text(demo_document_text())))
    except SlugTaken:
        if not saved.exists():
            return Demo(DEMO_SLUG, None, {}, saved)
        created = json.loads(saved.read_text())
    else:
        saved.write_text(json.dumps(created, indent=2, default=str))
        saved.chmod(0o600)
    return Demo(str(created["slug"]), str(created["id"]), dict(created.get("api_keys", {})), saved)
