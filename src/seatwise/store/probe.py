"""The read probe: one asynchronous statement that authenticates a key and reads the
restaurant's venue and ledger versions (`seatwise_read_probe`, migration 0010).

It runs on the event loop over its own small asyncio pool (asyncpg: a prepared
statement, a fraction of a synchronous driver's per-call cost on the loop), so a
read answered from the cache costs one round trip and no thread hand-off.

Probes are batched: while `max_in_flight` statements are out, the probes asked for
meanwhile wait and go together in the next one (one row each, one round trip for
all; the wake-up and system calls of a round trip are most of a cached answer's
cost under load). A batch is sent only after every probe in it was asked for, so
each still reads the versions after its request arrived: every write committed
before that is seen, as with a statement of its own.

The same pool reads the jobs' backlog for `/metrics` (`backlog_stats`), so a scrape
never waits for a worker thread either.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type information

from seatwise.core.errors import DatabaseUnavailable
from seatwise.store.keys import key_hash

_log = logging.getLogger(__name__)

# A probe that cannot get an answer within this long is a 503 (DATABASE_UNAVAILABLE)
# when the database is not known to be reachable: inside the 2 s an outage may take to
# be answered (a hung connect; a refused one, or a connection the server ends, fails
# at once). A database that answered the last batch is reachable, only slow (a rush on
# a saturated machine): its probes are waited for up to BUSY_WAIT, as `store.db`
# waits for a busy pool, and only then a 503. Connecting is bounded by PROBE_WAIT.
PROBE_WAIT = 1.5
BUSY_WAIT = 10.0
# What the server being down, restarting or unreachable looks like from asyncpg,
# besides the server errors `_unreachable` recognises by their class.
_CUT = (OSError, TimeoutError, asyncpg.InterfaceError, asyncpg.exceptions.InternalClientError)
# SQLSTATE classes of a failure of the server or the connection, not of the statement
# (connection exception, insufficient resources, operator intervention such as a
# shutdown or a crash restart, system error): those psycopg reports as an
# OperationalError, which `store.db` turns into DATABASE_UNAVAILABLE the same way.
_UNAVAILABLE_CLASSES = frozenset({"08", "53", "57", "58"})


def _unreachable(exc: BaseException) -> bool:
    if isinstance(exc, _CUT):
        return True
    state = getattr(exc, "sqlstate", None)
    return isinstance(exc, asyncpg.PostgresError) and isinstance(state, str) and state[:2] in _UNAVAILABLE_CLASSES


# One row per (restaurant, key hash) pair, in the arrays' order; the function sets
# each row's tenant itself before its reads.
PROBE_SQL = """
SELECT p.key_found, p.key_id::text AS key_id, p.role, p.revoked_at, p.venue_version, p.ledger_version
FROM unnest($1::uuid[], $2::text[]) WITH ORDINALITY AS a(restaurant_id, key_hash, n)
CROSS JOIN LATERAL seatwise_read_probe(a.restaurant_id, a.key_hash) AS p
ORDER BY a.n"""

# Aggregates only: the application role may call it (migration 0005).
BACKLOG_SQL = "SELECT * FROM seatwise_backlog_stats($1)"

_Ask = tuple[uuid.UUID, str | None]
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Probe:
    key_found: bool
    key_id: str | None
    role: str | None
    revoked_at: datetime | None
    venue_version: int | None  # None: no such restaurant
    ledger_version: int


class AsyncReads:
    """A lazily opened asyncio pool (it must be created inside the serving loop)."""

    def __init__(self, url: str, *, max_size: int = 2, max_in_flight: int = 2) -> None:
        self.url = url
        # At most `max_in_flight` statements are out at once: more connections would
        # only be held open (every API process opens this pool: its keyed requests
        # are all authenticated through it).
        self.max_size = min(max_size, max_in_flight)
        self.max_in_flight = max_in_flight
        self._pool: asyncpg.Pool | None = None
        self._opening: asyncio.Lock | None = None
        # Probes asked for and not yet sent, each with the futures of its askers.
        self._waiting: dict[_Ask, list[asyncio.Future[Probe]]] = {}
        self._in_flight = 0
        # Whether the last batch could not reach the server (or none has yet): then a
        # probe is not waited for past PROBE_WAIT. A connection in hand says reachable.
        self._unreached = True
        self._senders: set[asyncio.Task[None]] = set()  # the loop keeps only weak references

    async def _open(self) -> asyncpg.Pool:
        if self._pool is not None:
            return self._pool
        if self._opening is None:
            self._opening = asyncio.Lock()
        async with self._opening:
            if self._pool is None:
                self._pool = await asyncpg.create_pool(
                    self.url,
                    min_size=1,
                    max_size=self.max_size,
                    timeout=30,
                    # The probe is almost all this pool runs (a scrape's backlog read
                    # aside). Its arrays differ each time, and PostgreSQL would keep
                    # planning it afresh (a custom plan: about a third of its cost on
                    # the server); its generic plan is as good, made once per connection.
                    server_settings={"statement_timeout": "15s", "plan_cache_mode": "force_generic_plan"},
                    reset=_keep,
                )
        return self._pool

    async def probe(self, rid: str, key: str | None) -> Probe:
        """Versions of `rid` and, unless `key` is None, that key's row under `rid`."""
        ask = (uuid.UUID(rid), key_hash(key) if key is not None else None)
        answer: asyncio.Future[Probe] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(ask, []).append(answer)
        if self._in_flight < self.max_in_flight:
            self._in_flight += 1
            sender = asyncio.get_running_loop().create_task(self._send_batches())
            self._senders.add(sender)
            sender.add_done_callback(self._senders.discard)
        # The asker's own bound covers waiting for a batch already out, then for its own.
        try:
            async with asyncio.timeout(PROBE_WAIT):
                return await asyncio.shield(answer)
        except TimeoutError as exc:
            if self._unreached:
                _log.warning("database unavailable (read probe): no answer within %s s", PROBE_WAIT)
                raise DatabaseUnavailable("the database is unreachable; retry shortly") from exc
        try:  # reachable when last asked: slow, not down (a failure still ends the wait at once)
            async with asyncio.timeout(BUSY_WAIT - PROBE_WAIT):
                return await answer
        except TimeoutError as exc:
            _log.warning("database unavailable (read probe): no answer within %s s", BUSY_WAIT)
            raise DatabaseUnavailable("the database did not answer in time; retry shortly") from exc

    async def _send_batches(self) -> None:
        """Send what is waiting, then whatever was asked for meanwhile, until nothing waits."""
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, {}
                try:
                    rows = await self._fetch(list(batch))
                except Exception as exc:
                    for answers in batch.values():
                        for answer in answers:
                            if not answer.done():
                                answer.set_exception(exc)
                    continue
                except BaseException:  # cancelled (the loop is closing): so are its askers
                    for answers in batch.values():
                        for answer in answers:
                            answer.cancel()
                    raise
                for answers, row in zip(batch.values(), rows, strict=True):
                    probe = Probe(**dict(row.items()))
                    for answer in answers:
                        if not answer.done():
                            answer.set_result(probe)
        finally:
            self._in_flight -= 1

    async def _fetch(self, asks: list[_Ask]) -> list[asyncpg.Record]:
        rows: list[asyncpg.Record] = await self._on_connection(
            lambda conn: conn.fetch(PROBE_SQL, [a[0] for a in asks], [a[1] for a in asks])
        )
        if len(rows) != len(asks):  # the function always returns one row
            raise LookupError("read probe returned a row too few")
        return rows

    async def backlog_stats(self, hold_grace: timedelta) -> dict[str, Any]:
        """The jobs' backlog, aggregates only (`seatwise_backlog_stats`)."""
        row = await self._on_connection(lambda conn: conn.fetchrow(BACKLOG_SQL, hold_grace))
        return dict(row.items()) if row is not None else {}

    async def _on_connection(self, use: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
        """`use` on a pooled connection within the bounds, or `DatabaseUnavailable`."""
        try:
            async with asyncio.timeout(PROBE_WAIT):  # connecting, or a connection to reuse
                pool = await self._open()
                conn = await pool.acquire()
            self._unreached = False
            try:
                async with asyncio.timeout(BUSY_WAIT):  # the statement, on a live connection
                    return await use(conn)
            finally:
                await pool.release(conn)
        except Exception as exc:
            if not _unreachable(exc):
                raise
            self._unreached = True
            _log.warning("database unavailable (read probe): %s: %s", type(exc).__name__, exc)
            raise DatabaseUnavailable("the database is unreachable; retry shortly") from exc

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None


async def _keep(_conn: asyncpg.Connection) -> None:
    """No reset round trip when a connection goes back to the pool (asyncpg's default
    sends RESET ALL, UNLISTEN and more each time): the probe is one autocommit
    statement whose tenant setting ends with it, so nothing outlives a use."""
