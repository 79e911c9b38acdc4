"""How audit reads a stored leaf: at its event's latest schema version.

A leaf's bytes stay exactly as appended (they are what the log's tree proves); the read
models and anomaly rules see the document upcast by the contracts' registry, through
eventkit's one read path (`EventReader.decode_document`), as every service reads its events.
"""

from __future__ import annotations

from typing import Any

from contracts.upcasters import UPCASTERS
from eventkit.store import EventReader

LEAVES = EventReader(UPCASTERS)


def read_leaf(raw: bytes | memoryview) -> dict[str, Any]:
    """A leaf's JSON document, upcast to the latest version of its event type."""
    return LEAVES.decode_document(bytes(raw))
