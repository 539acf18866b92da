"""Connection pool and tenant-scoped transactions.

Every transaction that touches tenant rows runs under `seatwise.restaurant_id`, a
transaction-local setting that the row-level security policies compare against:
a transaction scoped to restaurant A cannot read or write B's rows, whatever SQL it
runs. The pool connects as the application role (not superuser, not BYPASSRLS).
"""

from __future__ import annotations

import logging
import random
import select
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from typing import Any, Self, TypeVar

import psycopg
from psycopg import errors as pg_errors
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool, PoolTimeout

from seatwise import telemetry
from seatwise.core.errors import Busy, DatabaseUnavailable

T = TypeVar("T")
_log = logging.getLogger(__name__)


class _PipelineAbortNoise(logging.Filter):
    """Drop psycopg's warning that a pipeline could not be closed cleanly while an
    error was already propagating: that error (a concurrent writer's conflict, say)
    reaches `Database.run`, which retries or answers; the second one is noise."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.msg == "error ignored terminating %r: %s" and "Pipeline" in repr(record.args))


class _DeliberateDiscardNoise(logging.Filter):
    """`Database._checkout` closes a broken pooled connection itself; the pool then
    says it discards a closed connection, which is expected, not a warning."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.msg != "discarding closed connection: %s"


logging.getLogger("psycopg").addFilter(_PipelineAbortNoise())
logging.getLogger("psycopg.pool").addFilter(_DeliberateDiscardNoise())

# Errors a concurrent writer causes: the use case is re-planned on a fresh ledger.
RETRYABLE = (
    pg_errors.ExclusionViolation,
    pg_errors.SerializationFailure,
    pg_errors.DeadlockDetected,
    pg_errors.LockNotAvailable,
    pg_errors.UniqueViolation,
    pg_errors.CheckViolation,
)


# Never an unbounded wait for a lock: a lock held this long fails the attempt, which retries.
LOCK_TIMEOUT = "2s"

# Outage bounds (DESIGN §7: a 503 within 2 s while the database is unreachable).
CONNECT_TIMEOUT = 2  # seconds, libpq's minimum; only the pool's background workers connect
POOL_WAIT = 0.5  # how long a request waits for a pooled connection (then: reachable? wait more : 503)
POOL_WAIT_WHILE_DOWN = 0.25  # ... once the last attempt found the database unreachable
BUSY_WAIT = 10.0  # a reachable but busy pool is waited for this long at most
# The pool gives up a reconnection attempt after this long and tries again at the
# next request, so its backoff never grows past ~1 s: recovery is quick after any outage.
RECONNECT_TIMEOUT = 1.0


class Conflict(Exception):
    """Raised inside a use case to ask for a re-plan (the database said no)."""


def _unavailable(exc: BaseException) -> bool:
    """A failure of the database or the connection to it, not of the statement."""
    if isinstance(exc, RETRYABLE):
        return False
    return isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError | PoolTimeout)


def check_alive(conn: psycopg.Connection[dict[str, object]]) -> None:
    """The check before handing a pooled connection out: a broken one is discarded.

    An idle connection has nothing to read unless the server closed it (an EOF) or
    sent it a message (a termination notice): only then is a round trip spent on a
    real check, so a healthy checkout costs no statement.
    """
    if conn.closed or conn.broken:
        raise psycopg.OperationalError("connection closed")
    readable, _, _ = select.select([conn.fileno()], [], [], 0)
    if readable:
        ConnectionPool.check_connection(conn)


class Reachability:
    """Whether the last connection attempt reached the server (pool workers connect;
    requests only wait): tells an unreachable database from a merely busy pool."""

    def __init__(self) -> None:
        self.last_success = 0.0
        self.last_failure = 0.0

    @property
    def down(self) -> bool:
        return self.last_failure > self.last_success


def _tracked_connection_class(reach: Reachability) -> type[psycopg.Connection[dict[str, object]]]:
    class TrackedConnection(psycopg.Connection[dict[str, object]]):
        @classmethod
        def connect(cls, *args: Any, **kwargs: Any) -> Self:  # forwards to psycopg
            try:
                conn = super().connect(*args, **kwargs)
            except Exception:
                reach.last_failure = time.monotonic()
                raise
            reach.last_success = time.monotonic()
            return conn

    return TrackedConnection


class Database:
    def __init__(self, app_url: str, *, min_size: int = 2, max_size: int = 20) -> None:
        self.url = app_url
        self.reach = Reachability()
        self.pool = ConnectionPool(
            app_url,
            connection_class=_tracked_connection_class(self.reach),
            min_size=min_size,
            max_size=max_size,
            kwargs={"row_factory": dict_row, "autocommit": False, "connect_timeout": CONNECT_TIMEOUT},
            configure=_configure,
            timeout=POOL_WAIT,
            reconnect_timeout=RECONNECT_TIMEOUT,
            open=True,
        )
        self.pool.wait(timeout=30)

    def close(self) -> None:
        self.pool.close()

    def _checkout(self) -> psycopg.Connection[dict[str, object]]:
        """A connection within `POOL_WAIT` while the server is unreachable, else
        `DatabaseUnavailable`. A pool that is only busy (every connection in use, or
        new ones still being opened) is waited for up to `BUSY_WAIT`."""
        started = time.monotonic()
        while True:
            wait = POOL_WAIT_WHILE_DOWN if self.reach.down else POOL_WAIT
            try:
                conn = self.pool.getconn(timeout=wait)
            except PoolTimeout as exc:
                if self.reach.down or time.monotonic() - started + wait > BUSY_WAIT:
                    raise DatabaseUnavailable("the database is unreachable; retry shortly") from exc
                continue
            try:
                check_alive(conn)
            except psycopg.Error:
                # Broken (the server restarted or ended it): closed, the pool replaces
                # it, and the next one is tried at once. (The pool's own `check` would
                # sleep a backoff after each broken one: seconds after a restart.)
                conn.close()
                self.pool.putconn(conn)
                continue
            return conn

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection[dict[str, object]]]:
        """A pooled connection, or `DatabaseUnavailable` within the bound.

        A failure of the connection itself (server gone, connection cut, even at
        COMMIT: the outcome is then unknown) is `DatabaseUnavailable` too, never
        retried here; a client replays a write with its `Idempotency-Key`.
        """
        conn = self._checkout()
        try:
            with conn:  # commit on success, roll back on error (psycopg's connection context)
                yield conn
        except Exception as exc:
            if not _unavailable(exc):
                raise
            _log.warning("database unavailable: %s: %s", type(exc).__name__, exc)
            raise DatabaseUnavailable("the database is unreachable; retry shortly") from exc
        finally:
            self.pool.putconn(conn)

    def ping(self) -> None:
        """One round trip, or `DatabaseUnavailable` (readiness)."""
        with self.autocommit() as conn:
            conn.execute("SELECT 1")

    @contextmanager
    def tenant(self, restaurant_id: str, *, pipeline: bool = False) -> Iterator[psycopg.Connection[dict[str, object]]]:
        """One transaction scoped to `restaurant_id`; commits on success.

        With `pipeline`, statements are sent without waiting for their results until
        one is fetched: a use case that only fetches what it must runs in a few
        network round trips. Errors then surface at the next fetch or at commit, and
        `rowcount` is only meaningful after a fetch.
        """
        with self.connection() as conn:
            with conn.pipeline() if pipeline else nullcontext(), conn.transaction():
                conn.execute("SELECT set_config('seatwise.restaurant_id', %s, true)", [restaurant_id])
                yield conn

    @contextmanager
    def autocommit(self) -> Iterator[psycopg.Connection[dict[str, object]]]:
        """A connection in autocommit mode: each statement is its own transaction.

        For self-contained statements that set their own tenant (see
        `seatwise_api_key`): one round trip, no BEGIN/COMMIT.
        """
        with self.connection() as conn:
            conn.autocommit = True
            try:
                yield conn
            finally:
                conn.autocommit = False

    def run(
        self,
        restaurant_id: str,
        use_case: Callable[[psycopg.Connection[dict[str, object]]], T],
        *,
        attempts: int = 8,
        pipeline: bool = False,
    ) -> T:
        """Run `use_case` in a tenant transaction, retrying concurrent-writer conflicts.

        Each attempt is a fresh transaction, so the use case re-reads the ledger and
        re-plans. Backoff is jittered and bounded; after the last attempt, `Busy`.
        """
        for attempt in range(attempts):
            try:
                with self.tenant(restaurant_id, pipeline=pipeline) as conn:
                    return use_case(conn)
            except (Conflict, *RETRYABLE) as exc:
                telemetry.RETRIES.labels(type(exc).__name__).inc()
                if attempt == attempts - 1:
                    break
                time.sleep(random.uniform(0, 0.004 * 2**attempt))  # noqa: S311 - jitter, not crypto
        raise Busy("concurrent writers kept conflicting; retry later")


def _configure(conn: psycopg.Connection[dict[str, object]]) -> None:
    # Never an unbounded wait: a lock held too long fails the attempt, which retries.
    conn.execute(f"SET lock_timeout = '{LOCK_TIMEOUT}'")
    conn.execute("SET statement_timeout = '15s'")
    conn.execute("SET idle_in_transaction_session_timeout = '60s'")
    conn.commit()
