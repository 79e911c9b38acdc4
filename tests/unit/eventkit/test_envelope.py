"""The canonical encoding: sorted keys, UTF-8, no whitespace, floats refused, and the fast
path byte-identical to pydantic's JSON mode."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from eventkit.envelope import Actor, Envelope, Producer, canonical_json

pytestmark = pytest.mark.unit


def env(**kw) -> Envelope:
    base = dict(
        event_type="intake.application_accepted",
        stream_id="case-1",
        occurred_at=datetime(2026, 10, 1, 8, 30, 0, 123456, tzinfo=timezone(timedelta(hours=8))),
        producer=Producer(service="intake", instance="i-1"),
        actor=Actor(id="staff-9", role="community_agent", org_id="ruian.mayu.mabei"),
        payload={
            "名称": "二胎申请",
            "fee_fen": 0,
            "materials": ["ID", "HK"],
            "nested": {"b": 1, "a": None},
        },
    )
    base.update(kw)
    return Envelope(**base)


@pytest.mark.parametrize(
    "when",
    [
        datetime(2026, 10, 1, 0, 0, tzinfo=UTC),
        datetime(2026, 10, 1, 8, 30, 0, 1, tzinfo=timezone(timedelta(hours=8))),
        datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    ],
)
def test_fast_canonical_equals_json_mode(when: datetime) -> None:
    e = env(occurred_at=when, causation_id=uuid.uuid4(), org_id="ruian", tier="town")
    assert e.canonical() == canonical_json(e.model_dump(mode="json"))


def test_canonical_is_sorted_compact_utf8_and_round_trips() -> None:
    e = env()
    raw = e.canonical()
    text = raw.decode("utf-8")
    assert "二胎申请" in text  # UTF-8, not \\u escapes
    assert ": " not in text and ", " not in text
    assert list(json.loads(raw).keys()) == sorted(json.loads(raw).keys())
    assert '"occurred_at":"2026-10-01T00:30:00.123456Z"' in text  # normalised to UTC
    assert Envelope.from_json(raw) == e
    assert Envelope.from_json(raw).canonical() == raw


def test_floats_are_refused() -> None:
    with pytest.raises(ValueError, match="floats"):
        env(payload={"amount": 1.5}).canonical()
    with pytest.raises(ValueError, match="floats"):
        canonical_json({"a": [1, {"b": 2.0}]})


def test_headers_carry_ids() -> None:
    e = env()
    h = dict(e.headers())
    assert h == {
        "event_id": str(e.event_id).encode(),
        "event_type": e.event_type.encode(),
        "schema_version": b"1",
        "correlation_id": str(e.correlation_id).encode(),
    }


@pytest.mark.parametrize(
    "bad",
    [
        {"event_type": "NoDot"},
        {"occurred_at": datetime(2026, 1, 1)},  # naive
        {"stream_id": ""},
        {"schema_version": 0},
        {"unexpected": 1},
    ],
)
def test_invalid_envelopes_are_refused(bad: dict) -> None:
    with pytest.raises(ValidationError):
        env(**bad)


def test_caused_keeps_correlation_and_points_back() -> None:
    e = env()
    f = e.caused("routing.case_routed", {"office": "mayu.fp"})
    assert f.correlation_id == e.correlation_id and f.causation_id == e.event_id
    assert f.event_id != e.event_id and f.stream_id == e.stream_id
