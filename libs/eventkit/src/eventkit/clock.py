"""The service clock: real time, optionally shifted (drills), or injected (tests).

Deciders take `now` from this callable. Drills may shift a whole service by
`<SVC>_CLOCK_OFFSET_DAYS`, which is logged as a warning at start because every event the
service stamps then carries a time that is not the wall clock.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

log = logging.getLogger("eventkit.clock")

Clock = Callable[[], datetime]


def system_clock(offset_days: float = 0.0, *, service: str = "service") -> Clock:
    if not offset_days:
        return lambda: datetime.now(UTC)
    offset = timedelta(days=offset_days)
    log.warning(
        "%s_CLOCK_OFFSET_DAYS=%s: the service clock is shifted; every event it stamps carries "
        "the shifted time (drills and tests only)",
        service.upper(),
        offset_days,
    )
    return lambda: datetime.now(UTC) + offset
