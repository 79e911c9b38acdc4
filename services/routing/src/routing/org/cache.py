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

from collections.abc import Sequence
from typing import Any

import asyncpg
import orjson

from contracts.base import payload_of
from contracts.routing import ORG_STREAM_ID
from eventkit.envelope import Envelope

from ..domain.org_admin import evolve_org, initial_org_state
from ..domain.org_model import OrgState

_SINCE = (
    "SELECT envelope FROM events WHERE stream_id = $1 AND stream_version > $2"
    " ORDER BY stream_version"
)


class OrgCache:
    """The folded org stream of this process: `(state, version)` replaced atomically."""

    def __init__(self, stream_id: str = ORG_STREAM_ID) -> None:
        self.stream_id = stream_id
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
        return self.fold(await conn.fetch(_SINCE, self.stream_id, self.version))

    def fold(self, rows: Sequence[Any]) -> tuple[OrgState, int]:
        """Fold rows of `envelope`s of this stream read after `version` (by `current`, or by
        a caller's query that reads them along with something else)."""
        if rows:
            state, version = self._snapshot
            for (raw,) in rows:
                env = Envelope.model_validate(orjson.loads(raw))
                if env.stream_version != version + 1:
                    continue  # folded meanwhile by another task
                state = evolve_org(state, payload_of(env))
                version = env.stream_version
            self._snapshot = (state, version)
        return self._snapshot
