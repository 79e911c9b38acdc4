"""`make run`'s decisions: what to do when a child exits, what to print when /readyz changes."""

from __future__ import annotations

import io
import os
import signal
import sys
from pathlib import Path

import pytest

from devstack.common import describe_exit
from devstack.supervisor import (
    Output,
    RestartPolicy,
    ServiceChild,
    Supervisor,
    decide,
    failing,
    readiness_changes,
)

pytestmark = pytest.mark.unit

POLICY = RestartPolicy(budget=3, window_s=300, first_delay_s=0.5, max_delay_s=1.5)


def test_a_killed_service_is_restarted_with_a_doubling_capped_delay() -> None:
    delays = []
    restarts: list[float] = []
    for now in (10.0, 20.0, 30.0):
        d = decide("routing", -signal.SIGKILL, restarts, now, POLICY)
        assert d.restart
        delays.append(d.delay_s)
        restarts.append(now)
    assert delays == [0.5, 1.0, 1.5]


def test_the_budget_stops_everything_with_the_reason() -> None:
    d = decide("routing", 1, [10.0, 20.0, 30.0], 40.0, POLICY)
    assert not d.restart
    assert "routing exited with code 1" in d.reason
    assert "3 restarts within 300 s" in d.reason


def test_restarts_outside_the_window_no_longer_count() -> None:
    d = decide("routing", 1, [10.0, 20.0, 30.0], 400.0, POLICY)
    assert d.restart and d.delay_s == 0.5


def test_a_service_stopped_cleanly_from_outside_is_restarted() -> None:
    assert decide("notify", 0, [], 1.0, POLICY).restart


@pytest.mark.parametrize("code", [0, -signal.SIGTERM, 143])
def test_infrastructure_stopped_from_outside_stops_everything(code: int) -> None:
    d = decide("kafka", code, [], 1.0, POLICY, infrastructure=True)
    assert not d.restart
    assert "stopped from outside" in d.reason


@pytest.mark.parametrize("code", [-signal.SIGKILL, 1, None])
def test_infrastructure_that_crashed_is_restarted(code: int | None) -> None:
    assert decide("postgres", code, [], 1.0, POLICY, infrastructure=True).restart


def test_exit_statuses_in_words() -> None:
    assert describe_exit(-9) == "was killed by SIGKILL"
    assert describe_exit(143) == "exited with code 143 (SIGTERM)"
    assert describe_exit(1) == "exited with code 1"
    assert "unknown" in describe_exit(None)


def test_readiness_changes_print_transitions_only() -> None:
    ok = {"postgres": "ok", "kafka": "ok", "outbox_relay": "ok"}
    blocked = dict(ok, outbox_relay="blocked: blocked at position 17: MessageSizeTooLarge")
    assert readiness_changes("routing", ok, blocked) == [
        "routing: outbox_relay blocked: blocked at position 17: MessageSizeTooLarge"
    ]
    # the same state with another reason is not news; the way back is
    moved = dict(ok, outbox_relay="blocked: blocked at position 18: MessageSizeTooLarge")
    assert readiness_changes("routing", blocked, moved) == []
    assert readiness_changes("routing", moved, ok) == ["routing: outbox_relay ok again"]


def test_a_service_that_stops_answering_and_comes_back() -> None:
    ok = {"postgres": "ok", "kafka": "ok"}
    silent = {"http": "not answering /readyz: timed out"}
    assert readiness_changes("audit", ok, silent) == [
        "audit: http not answering /readyz: timed out"
    ]
    assert readiness_changes("audit", silent, ok) == ["audit: http ok again"]


def test_failing_lists_the_checks_that_are_not_ok() -> None:
    checks = {"postgres": "ok", "kafka": "error: no answer", "appender": "stopped"}
    assert failing(checks) == "kafka error: no answer; appender stopped"
    assert failing({"postgres": "ok"}) == "ok"


def _child(code: int, tmp_path: Path, out: Output) -> ServiceChild:
    return ServiceChild(
        "witness",
        None,
        [sys.executable, "-c", f"print('bye'); raise SystemExit({code})"],
        dict(os.environ),
        tmp_path / "witness.log",
        out,
        final_exits={3: "the witness raised an ALARM; it is not restarted"},
    )


@pytest.mark.parametrize(("code", "final"), [(3, True), (1, False)])
def test_a_final_exit_is_said_and_not_restarted_and_the_rest_goes_on(
    tmp_path: Path, code: int, final: bool
) -> None:
    stream = io.StringIO()
    out = Output(stream)
    child = _child(code, tmp_path, out)
    sup = Supervisor(services=[child], out=out, postgres=None, kafka=None, prepare=lambda: None)
    child.start()
    assert child.proc is not None
    child.proc.wait(timeout=60)
    sup._check_children()  # raises StackError only when everything must stop
    said = stream.getvalue()
    assert f"witness exited with code {code}" in said and "bye" in said
    assert child.ended is final
    assert ("ALARM; it is not restarted" in said) is final
    assert (child.restart_at is not None) is not final
    if final:
        sup._check_children()  # an ended child is not looked at again
        assert stream.getvalue() == said
