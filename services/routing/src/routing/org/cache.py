"""The org tree in memory, folded from the org stream and caught up before each use.

The org stream is small (the seeded Rui'an tree is under a thousand events) and every case
command reads the tree, so each process keeps the folded `OrgState` and, before handing it
out, reads only the org events appended since (one indexed query on
`(stream_id, stream_version)`). Changes made through another instance are therefore seen
by the next command here, with no cache invalidation protocol and no projection table.

`current(conn)` reads through the caller's connection, so a command running in a
transaction sees the tree as that transaction does.
"""

from __future__ import annotations

from collections.abc import Iterable

import asyncpg

from contracts.base import payload_of
from contracts.routing import ORG_STREAM_ID
from contracts.upcasters import UPCASTERS
from eventkit.envelope import Envelope
from eventkit.store import EventReader

from ..domain.org_admin import evolve_org, initial_org_state
from ..domain.org_model import OrgState


class OrgCache:
    """The folded org stream of this process: `(state, version)` replaced atomically."""

    def __init__(self, stream_id: str = ORG_STREAM_ID, reader: EventReader | None = None) -> None:
        """`reader`: the service's read path (`ServiceRuntime.reader`); by default one over
        the contracts' upcasters, which is what the service's is."""
        self.stream_id = stream_id
        self.reader = reader or EventReader(UPCASTERS)
        self._snapshot: tuple[OrgState, int] = (initial_org_state(), 0)

    @property
    def snapshot(self) -> tuple[OrgState, int]:
        """The tree as last caught up, and the org stream version it reflects."""
        return self._snapshot

    @property
    def version(self) -> int:
        return self._snapshot[1]

    async def current(self, conn: asyncpg.Connection) -> tuple[OrgState, int]:
        """The tree with every committed org event folded in (as `conn` sees them)."""
        return self.fold(
            await self.reader.read_stream(conn, self.stream_id, after_version=self.version)
        )

    def fold(self, envelopes: Iterable[Envelope]) -> tuple[OrgState, int]:
        """Fold envelopes of this stream read after `version` (by `current`, or by a caller's
        query that reads them along with something else, decoded by `reader.decode_rows`)."""
        state, version = self._snapshot
        changed = False
        for env in envelopes:
            if env.stream_version != version + 1:
                continue  # folded meanwhile by another task
            state = evolve_org(state, payload_of(env))
            version = env.stream_version
            changed = True
        if changed:
            self._snapshot = (state, version)
        return self._snapshot
