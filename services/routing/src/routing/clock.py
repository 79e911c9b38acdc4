"""The routing clock (see eventkit.clock): assignment looks at who is on duty *now*,
decisions are on time or late *now*, the deadline loop checks *now*."""

from __future__ import annotations

from eventkit.clock import Clock, system_clock

__all__ = ["Clock", "system_clock"]
