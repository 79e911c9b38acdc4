"""Guessing a verification code: throttle the guesser, never lock the resident out.

The 6-digit code on a receipt (查询验证码, 10^6 values) opens the resident status view and
lets staff of another center record a withdrawal with the resident present. Whoever knows a
receipt number may try codes, so wrong codes are counted — but a lock on the receipt itself
would let anyone who knows the number lock the resident out of their own case. So the
counters fall on the one guessing, and what falls on the case only slows it down:

- **per guesser and case** (`pair_max`, 10 wrong codes per `window`, 15 minutes): that
  address (or staff member) gets 429 for that case until its window ends. The resident,
  at home or at a center's terminal, is another address and is not affected.
- **per guesser** (`client_max`, 30 wrong codes per window, over all receipts): one address
  trying receipt after receipt gets 429 everywhere.
- **per case** (`case_budget`, 20 wrong codes an hour from all guessers together): over the
  budget the case is *paced*, not locked: its code is checked at most once every `pace`
  seconds (120), and only for a guesser with no wrong code on it in the window; a request
  between two checks gets 429 with the seconds to wait. The right code, typed when a check
  is free, still opens the case.

Why guessing stays hopeless, with the defaults: however many addresses an attacker holds, a
case's code is checked at most 20 + 3600 / 120 = 50 times an hour (the budget, then one paced
check every two minutes). A 50% chance needs half the codes, 500,000 guesses: at 50 an hour
that is 500,000 / 50 = 10,000 hours, about 14 months of uninterrupted guessing at one case
(one address alone: 10 per 15 minutes, then one paced check per window, is slower still).
A case is decided within its promised 15 to 30 working days.

Pure: the edge reads the counters (`intake.http.code_guard`), asks `judge`, and records.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class GuessPolicy:
    pair_max: int = 10
    client_max: int = 30
    window: timedelta = timedelta(minutes=15)
    case_budget: int = 20
    case_window: timedelta = timedelta(hours=1)
    pace: timedelta = timedelta(minutes=2)

    def checks_per_hour(self) -> float:
        """The most a case's code can be checked in an hour, by any number of guessers."""
        hour = timedelta(hours=1)
        return self.case_budget * (hour / self.case_window) + hour / self.pace

    def hours_to_even_odds(self, codes: int = 1_000_000) -> float:
        """Hours of guessing at `checks_per_hour` to try half of the codes."""
        return codes / 2 / self.checks_per_hour()


@dataclass(frozen=True)
class Counter:
    """Wrong codes in the current window of one bucket (a fixed window from its first)."""

    failures: int = 0
    window_start: datetime | None = None

    def live(self, now: datetime, window: timedelta) -> int:
        if self.window_start is None or self.window_start <= now - window:
            return 0
        return self.failures

    def ends(self, window: timedelta) -> datetime | None:
        return None if self.window_start is None else self.window_start + window

    def plus_one(self, now: datetime, window: timedelta) -> Counter:
        if self.live(now, window) == 0:
            return Counter(1, now)
        return Counter(self.failures + 1, self.window_start)


@dataclass(frozen=True)
class Counters:
    client: Counter = Counter()
    pair: Counter = Counter()
    case: Counter = Counter()
    next_check_at: datetime | None = None


@dataclass(frozen=True)
class Verdict:
    """`check`: look at the code now (`paced`: this check is the case's paced one, so the
    next may come only after `pace`); otherwise refuse for `retry_after` seconds."""

    check: bool
    paced: bool = False
    retry_after: int = 0
    reason: str = ""


def _seconds(until: datetime | None, now: datetime) -> int:
    if until is None:
        return 1
    return max(1, int((until - now).total_seconds() + 0.999))


def judge(policy: GuessPolicy, c: Counters, now: datetime) -> Verdict:
    if c.client.live(now, policy.window) >= policy.client_max:
        return Verdict(
            False,
            retry_after=_seconds(c.client.ends(policy.window), now),
            reason="too many wrong verification codes from this address; try again later "
            "or ask at any center",
        )
    pair = c.pair.live(now, policy.window)
    if pair >= policy.pair_max:
        return Verdict(
            False,
            retry_after=_seconds(c.pair.ends(policy.window), now),
            reason="too many wrong verification codes for this number from this address; "
            "try again later or ask at any center",
        )
    if c.case.live(now, policy.case_window) < policy.case_budget:
        return Verdict(True)
    # over the case's budget: paced checks, for guessers who have not guessed wrong on it
    if pair > 0:
        return Verdict(
            False,
            retry_after=_seconds(c.pair.ends(policy.window), now),
            reason="this number is being guessed at: after a wrong code, try again later "
            "or ask at any center",
        )
    if c.next_check_at is not None and now < c.next_check_at:
        return Verdict(
            False,
            retry_after=_seconds(c.next_check_at, now),
            reason="this number is being guessed at, so its code is checked once every "
            f"{int(policy.pace.total_seconds())} seconds: try again shortly",
        )
    return Verdict(True, paced=True)
