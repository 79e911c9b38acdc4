"""`generate(config)`: the period, day by day, case by case, through the services' deciders."""

from __future__ import annotations

import gc
import random
import uuid
from datetime import datetime, time, timedelta

from . import days, edges, people
from .case import CaseSim
from .history import GeneratorConfig, History
from .world import World


def generate(config: GeneratorConfig | None = None) -> History:
    """The whole history, sorted by (time, service, stream, version). The same config gives
    byte-identical envelopes: one seed drives every draw and every id."""
    # Millions of small objects and no cycles: the cyclic GC would rescan them all, again and
    # again, making generation quadratic. Reference counting frees everything anyway.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _run(config or GeneratorConfig())
    finally:
        if enabled:
            gc.enable()


def _run(config: GeneratorConfig) -> History:
    world = World(config)
    cutoff = days.utc(datetime.combine(config.end + timedelta(days=1), time(0), days.SHANGHAI))
    store = edges.Store(cutoff)
    id_rng = random.Random(config.seed * 17 + 3)

    def ids() -> uuid.UUID:
        return uuid.UUID(int=id_rng.getrandbits(128), version=4)

    world.reference(store, ids)
    items = people.Items(world.items)
    rng = random.Random(config.seed)
    cases = 0
    d = config.start
    while d <= config.end:
        for center, n in people.arrivals(rng, world.seed, d, config.scale):
            for _ in range(n):
                CaseSim(world, store, items, center, d, random.Random(rng.getrandbits(64))).run()
                cases += 1
        d += timedelta(days=1)
    store.out.sort(key=lambda e: (e.occurred_at, e.service, e.stream_id, e.stream_version))
    return History(config, store.out, cases, dict(sorted(store.stats.items())))
