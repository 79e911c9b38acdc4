"""`python -m intake`, with the service clock shifted by `INTAKE_CLOCK_OFFSET_DAYS`.

Why this exists: the lifecycle tests play one drill day, Tuesday 29 September 2026, so that
a promised deadline spans the National Day holiday (1-7 October). Routing takes
`ROUTING_CLOCK_OFFSET_DAYS` for that; intake has no such setting yet, and intake stamps the
acceptance whose time every deadline counts from. This runs intake's own `build()` and
`serve()` (exactly what `intake.__main__` does) with `build(clock=...)`, intake's documented
hook for an injected clock, in a process of its own. Once intake reads
`INTAKE_CLOCK_OFFSET_DAYS` itself, the tests start `python -m intake` instead.
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime, timedelta

from eventkit.service import serve
from intake.bootstrap import build
from intake.settings import Settings


def main() -> None:
    offset = timedelta(days=float(os.environ.get("INTAKE_CLOCK_OFFSET_DAYS", "0")))
    settings = Settings()
    if offset:
        logging.getLogger("intake").warning(
            "INTAKE_CLOCK_OFFSET_DAYS=%s: the service clock is shifted (drills and tests only)",
            offset.total_seconds() / 86400,
        )
    serve(build(settings, clock=lambda: datetime.now(UTC) + offset), settings)


if __name__ == "__main__":
    main()
