"""The service clock: real time, optionally shifted (drills), or injected (tests).

Every command routing decides is stamped with `clock()`: assignment looks at who is on
duty *now*, decisions are on time or late *now*, the deadline loop checks *now*. Tests
inject their own callable (`build(settings, clock=...)`); drills may shift the whole
service by `ROUTING_CLOCK_OFFSET_DAYS`, which is logged as a warning at start because every
event it stamps then carries a time that is not the wall clock.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

log = logging.getLogger("routing.clock")

Clock = Callable[[], datetime]


def system_clock(offset_days: float = 0.0) -> Clock:
    if not offset_days:
        return lambda: datetime.now(UTC)
    offset = timedelta(days=offset_days)
    log.warning(
        "ROUTING_CLOCK_OFFSET_DAYS=%s: the service clock is shifted; every event routing "
        "stamps carries the shifted time (drills and tests only)",
        offset_days,
    )
    return lambda: datetime.now(UTC) + offset
