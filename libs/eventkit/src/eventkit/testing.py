"""Test helpers: a frozen clock and given/when/then for deciders.

    Decider(decide, evolve, initial).given(e1, e2).when(cmd, now=clock.now()).then(e3)

`then` compares the produced events exactly; `then_raises` checks the decider refused the
command (the command changed nothing — deciders are pure, so there is nothing to roll back).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

S = TypeVar("S")
C = TypeVar("C")
E = TypeVar("E")


@dataclass
class FrozenClock:
    """A clock that only moves when told to."""

    current: datetime

    def now(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> datetime:
        self.current = self.current + timedelta(**delta)
        return self.current

    def set(self, when: datetime) -> None:
        self.current = when


@dataclass
class Scenario(Generic[S, C, E]):
    decide: Callable[[C, S, datetime], Sequence[E]]
    evolve: Callable[[S, E], S]
    state: S
    history: list[E] = field(default_factory=list)
    produced: list[E] | None = None
    error: Exception | None = None

    def given(self, *events: E) -> Scenario[S, C, E]:
        for e in events:
            self.state = self.evolve(self.state, e)
            self.history.append(e)
        return self

    def when(self, command: C, now: datetime) -> Scenario[S, C, E]:
        self.error = None  # a scenario reused for several `when`s must not keep a stale refusal
        try:
            self.produced = list(self.decide(command, self.state, now))
        except Exception as exc:  # the decider refused; `then_raises` inspects it
            self.error = exc
            self.produced = None
        return self

    def then(self, *expected: E) -> Scenario[S, C, E]:
        if self.error is not None:
            raise AssertionError(f"decider raised {self.error!r}") from self.error
        assert self.produced == list(expected), f"got {self.produced!r}"
        return self

    def then_events(self) -> list[E]:
        if self.error is not None:
            raise AssertionError(f"decider raised {self.error!r}") from self.error
        assert self.produced is not None
        return self.produced

    def then_raises(self, exc_type: type[Exception], match: str | None = None) -> Exception:
        assert self.error is not None, f"expected {exc_type.__name__}, got {self.produced!r}"
        assert isinstance(self.error, exc_type), f"got {self.error!r}"
        if match is not None:
            assert match in str(self.error), f"{match!r} not in {self.error!s}"
        return self.error

    def then_state(self) -> S:
        """State after applying the produced events."""
        state = self.state
        for e in self.then_events():
            state = self.evolve(state, e)
        return state


@dataclass
class Decider(Generic[S, C, E]):
    decide: Callable[[C, S, datetime], Sequence[E]]
    evolve: Callable[[S, E], S]
    initial: Callable[[], S]

    def given(self, *events: E) -> Scenario[S, C, E]:
        return Scenario(self.decide, self.evolve, self.initial()).given(*events)


def fold(evolve: Callable[[S, Any], S], state: S, events: Sequence[Any]) -> S:
    for e in events:
        state = evolve(state, e)
    return state
