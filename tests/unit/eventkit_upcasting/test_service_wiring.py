"""Every service reads events through the contracts' upcaster registry: its consumers (from
Kafka) and its runtime's read path (from its own store), which its read models share.

Built, not started: `build()` connects nothing, so this needs no Kafka or PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi import FastAPI

from audit.bootstrap import build as build_audit
from audit.decoding import LEAVES, read_leaf
from contracts.upcasters import UPCASTERS
from eventkit.consumer import EventConsumer
from eventkit.envelope import Actor, Envelope, Producer
from intake.bootstrap import build as build_intake
from notify.bootstrap import build as build_notify
from routing.bootstrap import build as build_routing


def _intake_consumers(app: FastAPI) -> list[Any]:
    return [app.state.routing_consumer]


def _routing_consumers(app: FastAPI) -> list[Any]:
    return [app.state.intake_consumer]


def _notify_consumers(app: FastAPI) -> list[Any]:
    return [app.state.intents_consumer]


SERVICES: dict[str, tuple[Callable[[], FastAPI], Callable[[FastAPI], list[Any]]]] = {
    "intake": (build_intake, _intake_consumers),
    "routing": (build_routing, _routing_consumers),
    "notify": (build_notify, _notify_consumers),
    "audit": (build_audit, lambda _app: []),  # its appender stores raw leaves, on purpose
}


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_each_service_reads_through_the_contracts_registry(service: str) -> None:
    build, consumers_of = SERVICES[service]
    app = build()
    runtime = app.state.runtime
    assert runtime.upcasters is UPCASTERS
    assert runtime.reader.upcaster is UPCASTERS  # the store is built on this reader
    for consumer in consumers_of(app):
        assert isinstance(consumer, EventConsumer)
        assert consumer.upcasters is UPCASTERS


def test_read_models_share_the_runtime_read_path() -> None:
    intake = build_intake()
    assert intake.state.intake.catalog._reader is intake.state.runtime.reader
    routing = build_routing()
    assert routing.state.routing.org.reader is routing.state.runtime.reader


def test_audit_reads_a_v1_leaf_as_v2_and_keeps_its_bytes() -> None:
    assert LEAVES.upcaster is UPCASTERS
    leaf = Envelope(
        event_type="routing.case_escalated",
        schema_version=1,
        stream_id="case-1",
        occurred_at=datetime(2026, 12, 7, tzinfo=UTC),
        producer=Producer(service="routing", instance="r1"),
        actor=Actor(id="routing", role="system"),
        payload={"case_id": "case-1", "level": 1},
    ).canonical()
    doc = read_leaf(memoryview(leaf))
    assert doc["schema_version"] == 2 and doc["payload"]["center_head"] is None
    assert b"center_head" not in leaf  # the stored bytes are what the log proves
