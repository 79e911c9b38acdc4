"""A small token bucket per client address, for the public POSTs nobody signs in to.

A witness posts one cosignature per new checkpoint (every `AUDIT_CHECKPOINT_SECONDS` at
most); a client posting far more is answered 429 with `Retry-After` before its body is read
or verified (each verification costs Ed25519 work for every line). The buckets live in the
process: behind several replicas each one paces on its own, which only loosens the bound.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    at: float


class Pacer:
    def __init__(
        self,
        burst: int,
        per_second: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_clients: int = 10_000,
    ) -> None:
        self.burst = max(1, burst)
        self.per_second = per_second
        self.clock = clock
        self.max_clients = max_clients
        self._buckets: dict[str, _Bucket] = {}

    def take(self, client: str) -> float:
        """0 when `client` may go on (a token is taken), else the seconds to wait."""
        now = self.clock()
        b = self._buckets.get(client)
        if b is None:
            if len(self._buckets) >= self.max_clients:
                self._forget_full(now)
            b = self._buckets[client] = _Bucket(float(self.burst), now)
        b.tokens = min(self.burst, b.tokens + (now - b.at) * self.per_second)
        b.at = now
        if b.tokens >= 1:
            b.tokens -= 1
            return 0.0
        if self.per_second <= 0:
            return 3600.0
        return (1 - b.tokens) / self.per_second

    def _forget_full(self, now: float) -> None:
        """Drop the buckets that have refilled (they hold nothing worth remembering)."""
        full = [
            k
            for k, b in self._buckets.items()
            if b.tokens + (now - b.at) * self.per_second >= self.burst
        ]
        for k in full:
            del self._buckets[k]
        if len(self._buckets) >= self.max_clients:  # all busy: the oldest goes
            oldest = min(self._buckets, key=lambda k: self._buckets[k].at)
            del self._buckets[oldest]


def retry_after(seconds: float) -> str:
    return str(max(1, math.ceil(seconds)))
