"""Upcasting: old event versions are rewritten on read, never in storage (ARCHITECTURE §3).

An upcaster is a *pure* function from the **whole envelope dict** (JSON form, as it travels
on Kafka and sits in the store's `envelope` column) at version N to the envelope dict at
version N+1. Whole-envelope rather than payload-only so a step can also move a field
between the payload and the envelope, or rename the event type, when a contract demands it;
most steps only touch `payload`.

    registry = UpcasterRegistry()

    @registry.register("intake.application_accepted", from_version=1)
    def _v1_to_v2(env: dict) -> dict:
        payload = dict(env["payload"])
        payload["channel"] = payload.pop("via", "counter")
        return {**env, "payload": payload}

    registry.upcast(old_envelope_dict)  # -> dict at the latest version

Rules the registry enforces so steps stay pure and chains stay honest:

- each step receives a deep copy, so a step that mutates its argument cannot corrupt the
  caller's data (the input of `upcast` is never modified);
- the registry sets `schema_version` to N+1 after each step, so a step cannot forget it;
- `upcast` applies steps until none is registered for the current version; a version
  *below* the latest registered one with no step is a broken chain and raises
  `UpcastError` (never silently hands an old shape to a handler);
- one step per (event type, from version): registering twice raises.

Use it when reading from the store and from Kafka (`EventConsumer(upcasters=...)` does the
latter). A module-level `default_registry` exists for convenience; libraries and tests pass
their own.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from typing import Any

from .envelope import Envelope

EnvelopeDict = dict[str, Any]
Upcaster = Callable[[EnvelopeDict], EnvelopeDict]


class UpcastError(ValueError):
    """A chain is broken, a step misbehaved, or the input cannot be upcast."""


class UpcasterRegistry:
    """A registry of pure `dict -> dict` steps keyed by `(event_type, from_version)`."""

    def __init__(self) -> None:
        self._steps: dict[tuple[str, int], Upcaster] = {}
        self._latest: dict[str, int] = {}

    # -- registration ----------------------------------------------------------------------------
    def register(self, event_type: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
        """Decorator: `fn` turns an `event_type` envelope at `from_version` into the next one."""
        if from_version < 1:
            raise ValueError("schema versions start at 1")

        def deco(fn: Upcaster) -> Upcaster:
            self.add(event_type, from_version, fn)
            return fn

        return deco

    def add(self, event_type: str, from_version: int, fn: Upcaster) -> None:
        key = (event_type, from_version)
        if key in self._steps:
            raise ValueError(f"an upcaster for {event_type} v{from_version} is already registered")
        self._steps[key] = fn
        self._latest[event_type] = max(self._latest.get(event_type, 1), from_version + 1)

    def declare(self, event_type: str, latest: int) -> None:
        """Record the current version of a type that has no upcaster (yet), so `latest()` and
        `known_types()` know it. Declaring lower than the registered chain is an error."""
        if latest < self._latest.get(event_type, 1):
            raise ValueError(
                f"{event_type}: declared latest v{latest} is below the registered chain "
                f"(v{self._latest[event_type]})"
            )
        self._latest[event_type] = latest

    # -- queries ---------------------------------------------------------------------------------
    def latest(self, event_type: str) -> int | None:
        """The newest version this registry knows for `event_type`, or None if unknown."""
        return self._latest.get(event_type)

    def known_types(self) -> frozenset[str]:
        return frozenset(self._latest)

    def steps(self) -> list[tuple[str, int]]:
        """Every registered `(event_type, from_version)`, sorted."""
        return sorted(self._steps)

    def step(self, event_type: str, from_version: int) -> Upcaster | None:
        """The step from `from_version` of `event_type`, if registered."""
        return self._steps.get((event_type, from_version))

    def __contains__(self, key: object) -> bool:
        return key in self._steps

    def merged(self, *others: UpcasterRegistry) -> UpcasterRegistry:
        """A new registry holding this one's steps and the others' (clashes raise)."""
        out = UpcasterRegistry()
        for reg in (self, *others):
            for (etype, v), fn in reg._steps.items():
                out.add(etype, v, fn)
            for etype, latest in reg._latest.items():
                out._latest[etype] = max(out._latest.get(etype, 1), latest)
        return out

    # -- applying --------------------------------------------------------------------------------
    def upcast(self, envelope: EnvelopeDict, *, to_version: int | None = None) -> EnvelopeDict:
        """Apply the chain from the envelope's `schema_version` to the latest known version
        (or to `to_version`, if given and lower).

        Returns a new dict when a step ran, the input itself when none applies (the input is
        never modified). Envelopes without a usable `event_type`/`schema_version` are returned
        unchanged so validation can report them.
        """
        etype = envelope.get("event_type")
        version = envelope.get("schema_version", 1)
        if not isinstance(etype, str) or not isinstance(version, int) or isinstance(version, bool):
            return envelope
        latest = self._latest.get(etype)
        if latest is not None and to_version is not None:
            latest = min(latest, to_version)
        if latest is None or version >= latest:
            return envelope
        current = envelope
        while version < latest:
            step = self._steps.get((etype, version))
            if step is None:
                raise UpcastError(
                    f"{etype}: no upcaster from v{version} (latest is v{latest}); the chain "
                    "is broken"
                )
            try:
                out = step(copy.deepcopy(current))
            except Exception as exc:
                raise UpcastError(
                    f"{etype}: upcaster v{version}->v{version + 1} failed: "
                    f"{type(exc).__name__}: {exc}"
                ) from exc
            if not isinstance(out, dict):
                raise UpcastError(f"{etype}: upcaster v{version} returned {type(out).__name__}")
            out = dict(out)
            out["schema_version"] = version + 1
            new_type = out.get("event_type", etype)
            if not isinstance(new_type, str):
                raise UpcastError(f"{etype}: upcaster v{version} broke the event_type")
            if new_type != etype:
                # A step renamed the type: continue along the new type's chain, if any.
                etype = new_type
                latest = self._latest.get(etype, version + 1)
                if to_version is not None:
                    latest = min(latest, to_version)
            current = out
            version += 1
        return current

    def upcast_many(self, envelopes: Iterable[EnvelopeDict]) -> list[EnvelopeDict]:
        return [self.upcast(e) for e in envelopes]

    def upcast_envelope(self, envelope: Envelope) -> Envelope:
        """Envelope -> Envelope at the latest version (the same object when already latest)."""
        latest = self._latest.get(envelope.event_type)
        if latest is None or envelope.schema_version >= latest:
            return envelope
        return Envelope.model_validate(self.upcast(envelope.to_json_dict()))

    def load(self, data: EnvelopeDict) -> Envelope:
        """Upcast a JSON envelope dict and validate it."""
        return Envelope.model_validate(self.upcast(data))


default_registry = UpcasterRegistry()
register = default_registry.register
upcast = default_registry.upcast

__all__ = [
    "EnvelopeDict",
    "UpcastError",
    "Upcaster",
    "UpcasterRegistry",
    "default_registry",
    "register",
    "upcast",
]
