"""The service catalog as of now, folded from the `catalog` stream and kept in memory.

Why no table: the catalog is one small stream (a few dozen events) and the decider needs the
folded `Catalog` state anyway. Each use reads only the events newer than the ones already
folded (one indexed query, usually returning nothing), so several intake instances stay in
step with each other without any cache invalidation: the store is the only truth.
"""

from __future__ import annotations

from collections.abc import Iterable

import asyncpg
import orjson

from contracts.base import payload_of
from eventkit.envelope import Envelope
from eventkit.upcasting import UpcasterRegistry

from .domain import catalog
from .domain.catalog import CATALOG_STREAM, Catalog


class CatalogView:
    def __init__(self, upcasters: UpcasterRegistry | None = None) -> None:
        self._state: Catalog = catalog.initial_state()
        self._version = 0
        self._upcasters = upcasters

    @property
    def version(self) -> int:
        return self._version

    @property
    def folded(self) -> Catalog:
        """The catalog as last caught up (no query)."""
        return self._state

    async def current(self, conn: asyncpg.Connection) -> Catalog:
        """The catalog including every event committed (or written in `conn`'s transaction)."""
        rows = await conn.fetch(
            "SELECT stream_version, envelope FROM events"
            " WHERE stream_id = $1 AND stream_version > $2 ORDER BY stream_version",
            CATALOG_STREAM,
            self._version,
        )
        return self.fold(rows)

    def fold(self, rows: Iterable[tuple[int, bytes]]) -> Catalog:
        """Fold (stream_version, envelope) rows of the catalog stream read after `version`
        (by `current`, or by a caller's query that reads them with other rows)."""
        for version, raw in rows:
            # Two concurrent callers may fetch the same rows; only the next version is folded
            # (no await in this loop, so the check and the fold cannot interleave).
            if version != self._version + 1:
                continue
            data = orjson.loads(raw)
            if self._upcasters is not None:
                data = self._upcasters.upcast(data)
            evt = payload_of(Envelope.model_validate(data))
            self._state = catalog.evolve(self._state, evt)
            self._version = version
        return self._state

    def forget_uncommitted(self) -> None:
        """Drop the folded state (after a transaction that wrote catalog events rolled back,
        the in-memory fold may be ahead of the store)."""
        self._state = catalog.initial_state()
        self._version = 0
