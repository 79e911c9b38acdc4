"""Guessing a receipt's verification code: the guesser is throttled, the resident is not
locked out, and the case's code is checked at most `checks_per_hour` times an hour."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from intake.domain.code_guessing import Counter, Counters, GuessPolicy, Verdict, judge

pytestmark = pytest.mark.unit

P = GuessPolicy()
T0 = datetime(2026, 10, 12, 9, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_a_fresh_guess_is_checked() -> None:
    assert judge(P, Counters(), T0) == Verdict(True)


def test_the_guesser_is_stopped_for_the_case_and_everywhere() -> None:
    pair = Counters(pair=Counter(P.pair_max, at(0)))
    v = judge(P, pair, at(5))
    assert not v.check and v.retry_after == 600 and "this address" in v.reason
    assert judge(P, pair, at(15)).check  # the window has passed
    client = Counters(client=Counter(P.client_max, at(0)))
    assert not judge(P, client, at(14)).check
    # the resident, at another address, has counters of their own: nothing stops them
    assert judge(P, Counters(case=Counter(P.case_budget - 1, at(0))), at(1)) == Verdict(True)


def test_over_the_budget_the_case_is_paced_not_locked() -> None:
    over = Counter(P.case_budget, at(0))
    first = judge(P, Counters(case=over), at(10))
    assert first == Verdict(True, paced=True)
    waiting = judge(P, Counters(case=over, next_check_at=at(12)), at(11))
    assert not waiting.check and waiting.retry_after == 60 and "once every 120" in waiting.reason
    # when the next check is due, a resident who has not guessed wrong is checked
    assert judge(P, Counters(case=over, next_check_at=at(12)), at(12)).check
    # a guesser with a wrong code on it gets no paced check at all
    guessed = Counters(pair=Counter(1, at(9)), case=over, next_check_at=at(0))
    assert not judge(P, guessed, at(12)).check
    # the budget is per hour
    assert judge(P, Counters(case=over, next_check_at=at(70)), at(61)) == Verdict(True)


def test_counters_window_from_their_first_wrong_code() -> None:
    c = Counter()
    c = c.plus_one(at(0), P.window)
    c = c.plus_one(at(14), P.window)
    assert (c.failures, c.window_start) == (2, at(0))
    assert c.live(at(14.9), P.window) == 2
    assert c.plus_one(at(15), P.window) == Counter(1, at(15))


def test_guessing_a_six_digit_code_stays_hopeless() -> None:
    """The docstring's arithmetic: 20 + 3600/120 = 50 checks an hour at most; half of the
    10^6 codes then take 10,000 hours (over a year)."""
    assert P.checks_per_hour() == 50
    assert P.hours_to_even_odds() == 10_000
    assert P.hours_to_even_odds() / 24 / 30 > 12
