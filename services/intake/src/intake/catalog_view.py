"""The service catalog as of now, folded from the `catalog` stream and kept in memory.

Why no table: the catalog is one small stream (a few dozen events) and the decider needs the
folded `Catalog` state anyway. Each use reads only the events newer than the ones already
folded (one indexed query, usually returning nothing), so several intake instances stay in
step with each other without any cache invalidation: the store is the only truth.
"""

from __future__ import annotations

from collections.abc import Iterable

import asyncpg

from contracts.base import payload_of
from eventkit.envelope import Envelope
from eventkit.store import EventReader

from .domain import catalog
from .domain.catalog import CATALOG_STREAM, Catalog


class CatalogView:
    def __init__(self, reader: EventReader | None = None) -> None:
        """`reader`: the service's read path (`ServiceRuntime.reader`), so catalog events are
        read at their latest schema version like every other read of the store."""
        self._state: Catalog = catalog.initial_state()
        self._version = 0
        self._reader = reader or EventReader()

    @property
    def version(self) -> int:
        return self._version

    @property
    def folded(self) -> Catalog:
        """The catalog as last caught up (no query)."""
        return self._state

    async def current(self, conn: asyncpg.Connection) -> Catalog:
        """The catalog including every event committed (or written in `conn`'s transaction)."""
        return self.fold(
            await self._reader.read_stream(conn, CATALOG_STREAM, after_version=self._version)
        )

    def fold(self, envelopes: Iterable[Envelope]) -> Catalog:
        """Fold catalog envelopes read after `version` (by `current`, or by a caller's query
        that reads them with other streams, `EventReader.read_streams`)."""
        for env in envelopes:
            # Two concurrent callers may fetch the same rows; only the next version is folded
            # (no await in this loop, so the check and the fold cannot interleave).
            if env.stream_version != self._version + 1:
                continue
            self._state = catalog.evolve(self._state, payload_of(env))
            self._version = env.stream_version
        return self._state

    def forget_uncommitted(self) -> None:
        """Drop the folded state (after a transaction that wrote catalog events rolled back,
        the in-memory fold may be ahead of the store)."""
        self._state = catalog.initial_state()
        self._version = 0
