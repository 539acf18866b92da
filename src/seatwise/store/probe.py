"""The read probe: one asynchronous statement that authenticates a key and reads the
restaurant's venue and ledger versions (`seatwise_read_probe`, migration 0010).

It runs on the event loop over its own small asyncio pool (asyncpg: a prepared
statement, a fraction of a synchronous driver's per-call cost on the loop), so a
read answered from the cache costs one round trip and no thread hand-off.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type information

from seatwise.core.errors import DatabaseUnavailable
from seatwise.store.keys import key_hash

_log = logging.getLogger(__name__)

# A probe that cannot get an answer within this long is a 503 (DATABASE_UNAVAILABLE),
# inside the 2 s an outage may take to be answered (a hung connect or statement; a
# refused one fails at once). One probe is one short statement on a pool of 8, so a
# reachable server under a rush answers far sooner.
PROBE_WAIT = 1.5
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


PROBE_SQL = (
    "SELECT key_found, key_id::text AS key_id, role, revoked_at, venue_version, ledger_version"
    " FROM seatwise_read_probe($1, $2)"
)


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

    def __init__(self, url: str, *, max_size: int = 8) -> None:
        self.url = url
        self.max_size = max_size
        self._pool: asyncpg.Pool | None = None
        self._opening: asyncio.Lock | None = None

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
                    server_settings={"statement_timeout": "15s"},
                    reset=_keep,
                )
        return self._pool

    async def probe(self, rid: str, key: str | None) -> Probe:
        """Versions of `rid` and, unless `key` is None, that key's row under `rid`."""
        try:
            async with asyncio.timeout(PROBE_WAIT):
                pool = await self._open()
                row = await pool.fetchrow(PROBE_SQL, uuid.UUID(rid), key_hash(key) if key is not None else None)
        except Exception as exc:
            if not _unreachable(exc):
                raise
            _log.warning("database unavailable (read probe): %s: %s", type(exc).__name__, exc)
            raise DatabaseUnavailable("the database is unreachable; retry shortly") from exc
        if row is None:  # the function always returns one row
            raise LookupError("read probe returned no row")
        return Probe(**dict(row.items()))

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None


async def _keep(_conn: asyncpg.Connection) -> None:
    """No reset round trip when a connection goes back to the pool (asyncpg's default
    sends RESET ALL, UNLISTEN and more each time): the probe is one autocommit
    statement whose tenant setting ends with it, so nothing outlives a use."""
