"""The small generated history the unit tests share (generated once per session)."""

from __future__ import annotations

from datetime import date
from functools import cache

from bianmin_tools.simulate import GeneratorConfig, History, generate

SMALL = GeneratorConfig(start=date(2026, 9, 28), end=date(2026, 10, 16), scale=0.08, seed=42)


@cache
def small_history() -> History:
    """About 350 cases and 7,000 events: the National Day holiday in the middle, every event
    type the services write in a normal fortnight."""
    return generate(SMALL)
