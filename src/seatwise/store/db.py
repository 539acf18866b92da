"""Connection pool and tenant-scoped transactions.

Every transaction that touches tenant rows runs under `seatwise.restaurant_id`, a
transaction-local setting that the row-level security policies compare against:
a transaction scoped to restaurant A cannot read or write B's rows, whatever SQL it
runs. The pool connects as the application role (not superuser, not BYPASSRLS).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from typing import TypeVar

import psycopg
from psycopg import errors as pg_errors
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from seatwise import telemetry
from seatwise.core.errors import Busy

T = TypeVar("T")


class _PipelineAbortNoise(logging.Filter):
    """Drop psycopg's warning that a pipeline could not be closed cleanly while an
    error was already propagating: that error (a concurrent writer's conflict, say)
    reaches `Database.run`, which retries or answers; the second one is noise."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.msg == "error ignored terminating %r: %s" and "Pipeline" in repr(record.args))


logging.getLogger("psycopg").addFilter(_PipelineAbortNoise())

# Errors a concurrent writer causes: the use case is re-planned on a fresh ledger.
RETRYABLE = (
    pg_errors.ExclusionViolation,
    pg_errors.SerializationFailure,
    pg_errors.DeadlockDetected,
    pg_errors.LockNotAvailable,
    pg_errors.UniqueViolation,
    pg_errors.CheckViolation,
)


class Conflict(Exception):
    """Raised inside a use case to ask for a re-plan (the database said no)."""


class Database:
    def __init__(self, app_url: str, *, min_size: int = 2, max_size: int = 20) -> None:
        self.url = app_url
        self.pool = ConnectionPool(
            app_url,
            min_size=min_size,
            max_size=max_size,
            kwargs={"row_factory": dict_row, "autocommit": False},
            configure=_configure,
            open=True,
        )
        self.pool.wait(timeout=30)

    def close(self) -> None:
        self.pool.close()

    @contextmanager
    def tenant(self, restaurant_id: str, *, pipeline: bool = False) -> Iterator[psycopg.Connection[dict[str, object]]]:
        """One transaction scoped to `restaurant_id`; commits on success.

        With `pipeline`, statements are sent without waiting for their results until
        one is fetched: a use case that only fetches what it must runs in a few
        network round trips. Errors then surface at the next fetch or at commit, and
        `rowcount` is only meaningful after a fetch.
        """
        with self.pool.connection() as conn:
            with conn.pipeline() if pipeline else nullcontext(), conn.transaction():
                conn.execute("SELECT set_config('seatwise.restaurant_id', %s, true)", [restaurant_id])
                yield conn

    @contextmanager
    def autocommit(self) -> Iterator[psycopg.Connection[dict[str, object]]]:
        """A connection in autocommit mode: each statement is its own transaction.

        For self-contained statements that set their own tenant (see
        `seatwise_api_key`): one round trip, no BEGIN/COMMIT.
        """
        with self.pool.connection() as conn:
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
    conn.execute("SET lock_timeout = '2s'")
    conn.execute("SET statement_timeout = '15s'")
    conn.execute("SET idle_in_transaction_session_timeout = '60s'")
    conn.commit()
