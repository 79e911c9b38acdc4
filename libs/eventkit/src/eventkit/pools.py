"""The PostgreSQL pool as the long-lived parts of a service are given it.

Consumers, stores and loops are built by a service's bootstrap before its runtime has
started, so before the pool exists: they are given the pool, or a callable that returns it
once there is one (`lambda: runtime.pool`), and read it through `resolve_pool` at each use.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeAlias

import asyncpg

PoolSource: TypeAlias = asyncpg.Pool | Callable[[], asyncpg.Pool | None]


def resolve_pool(source: PoolSource) -> asyncpg.Pool:
    """The pool now; a `ConnectionError` (retried as an infrastructure delay by the
    consumers and loops) while it does not exist yet."""
    pool = source if isinstance(source, asyncpg.Pool) else source()
    if pool is None:
        raise ConnectionError("the PostgreSQL pool is not ready yet")
    return pool


__all__ = ["PoolSource", "resolve_pool"]
