"""Start-up noise (coordinator election, topic auto-creation off) is not logged as an error."""

from __future__ import annotations

import logging

import pytest

from eventkit.logging import StartupNoise

pytestmark = pytest.mark.unit


def record(name: str, level: int, msg: str) -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, msg, None, None)


def test_coordinator_election_is_info_at_start_then_a_warning() -> None:
    now = [0.0]
    noise = StartupNoise(startup_s=60, clock=lambda: now[0])
    msg = "Group Coordinator Request failed: [Error 15] GroupCoordinatorNotAvailableError"
    r = record("aiokafka.consumer.group_coordinator", logging.ERROR, msg)
    assert noise.filter(r) and r.levelname == "INFO"
    now[0] = 61.0
    r = record("aiokafka.consumer.group_coordinator", logging.ERROR, msg)
    assert noise.filter(r) and r.levelname == "WARNING"


def test_other_errors_stay_errors() -> None:
    noise = StartupNoise()
    r = record("aiokafka.consumer.group_coordinator", logging.ERROR, "Heartbeat failed: boom")
    assert noise.filter(r) and r.levelname == "ERROR"
    r = record("routing.broker", logging.WARNING, "Auto create topics is disabled. Make sure …")
    assert noise.filter(r) and r.levelname == "INFO"
