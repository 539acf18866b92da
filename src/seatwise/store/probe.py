"""The read probe: one asynchronous statement that authenticates a key and reads the
restaurant's venue and ledger versions (`seatwise_read_probe`, migration 0010).

It runs on the event loop over its own small asyncio pool, so a read answered from
the cache costs one round trip and no thread hand-off.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from seatwise.store.keys import key_hash

PROBE_SQL = (
    "SELECT key_found, key_id::text AS key_id, role, revoked_at, venue_version, ledger_version"
    " FROM seatwise_read_probe(%s, %s)"
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
        self._pool: AsyncConnectionPool[AsyncConnection[dict[str, Any]]] | None = None
        self._opening: asyncio.Lock | None = None

    async def _open(self) -> AsyncConnectionPool[AsyncConnection[dict[str, Any]]]:
        if self._pool is not None:
            return self._pool
        if self._opening is None:
            self._opening = asyncio.Lock()
        async with self._opening:
            if self._pool is None:
                pool: AsyncConnectionPool[AsyncConnection[dict[str, Any]]] = AsyncConnectionPool(
                    self.url,
                    min_size=1,
                    max_size=self.max_size,
                    kwargs={"row_factory": dict_row, "autocommit": True, "prepare_threshold": 0},
                    configure=_configure,
                    open=False,
                )
                await pool.open(wait=True, timeout=30)
                self._pool = pool
        return self._pool

    async def probe(self, rid: str, key: str | None) -> Probe:
        """Versions of `rid` and, unless `key` is None, that key's row under `rid`."""
        pool = await self._open()
        async with pool.connection() as conn:
            cur = await conn.execute(PROBE_SQL, [rid, key_hash(key) if key is not None else None])
            row = await cur.fetchone()
        if row is None:  # the function always returns one row
            raise LookupError("read probe returned no row")
        return Probe(**row)

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None


async def _configure(conn: AsyncConnection[dict[str, Any]]) -> None:
    await conn.execute("SET statement_timeout = '15s'")
