"""The generator writes what the services would: real event types, valid payloads, canonical
envelopes, per-service stream versions, deterministic for a seed. (That each event is the
services' deciders' own: `test_replay_through_deciders`.)"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date
from functools import cache

import pytest

from bianmin_tools.simulate import GeneratorConfig, History, generate
from contracts.base import REGISTRY, payload_of, to_payload
from contracts.upcasters import UPCASTERS
from contracts.workdays import SHANGHAI
from eventkit.envelope import Envelope

from .support import SMALL, small_history

pytestmark = pytest.mark.unit

OCTOBER = GeneratorConfig(start=date(2026, 10, 1), end=date(2026, 10, 31), scale=0.25, seed=7)


@cache
def october() -> History:
    return generate(OCTOBER)


def test_same_seed_same_bytes_other_seed_other_history() -> None:
    a = [e.value() for e in generate(SMALL).events]
    b = [e.value() for e in generate(SMALL).events]
    assert a == b
    c = [e.value() for e in generate(GeneratorConfig(**{**SMALL.__dict__, "seed": 43})).events]
    assert c != a


def test_every_payload_validates_and_dumps_back_to_the_same_json() -> None:
    history = october()
    by_type: dict[str, list] = defaultdict(list)
    for e in history.events:
        by_type[e.event_type].append(e)
    # every event type a month produces, including the rare ones (follow-ups, escalations)
    assert {
        "intake.application_submitted",
        "intake.materials_missing_notified",
        "intake.materials_supplemented",
        "intake.application_accepted",
        "intake.application_withdrawn",
        "intake.correction_request_received",
        "intake.correction_supplied",
        "intake.decision_received",
        "intake.result_delivered",
        "intake.case_archived",
        "intake.service_evaluated",
        "intake.catalog_item_published",
        "routing.case_routed",
        "routing.case_handed_off",
        "routing.case_assigned",
        "routing.deadline_set",
        "routing.correction_requested",
        "routing.correction_received",
        "routing.case_decided",
        "routing.result_returned",
        "routing.deadline_warning_issued",
        "routing.case_overdue",
        "routing.case_escalated",
        "routing.case_reassigned",
        "routing.bad_review_followup_opened",
        "routing.bad_review_followup_answered",
        "routing.org_unit_registered",
        "notify.delivered",
        "notify.delivery_deferred",
        "notify.delivery_failed",
    } <= set(by_type)
    assert set(by_type) <= set(REGISTRY)
    for events in by_type.values():
        for e in events[:: max(1, len(events) // 150)]:  # up to ~150 of each type
            raw = e.value()
            env = Envelope.from_json(raw)
            assert env.canonical() == raw  # the canonical bytes, as a relay would publish
            env = UPCASTERS.upcast_envelope(env)  # an older version is read as the latest
            assert to_payload(payload_of(env)) == env.payload, e.event_type


def test_streams_are_versioned_per_service_and_cases_keep_their_order() -> None:
    history = small_history()
    versions: dict[tuple[str, str], list[int]] = defaultdict(list)
    for e in history.events:
        versions[(e.service, e.stream_id)].append(e.stream_version)
    for key, vs in versions.items():
        assert vs == list(range(1, len(vs) + 1)), key
    times = [e.occurred_at for e in history.events]
    assert times == sorted(times)


def test_envelopes_carry_the_accountable_units() -> None:
    history = small_history()
    submitted = {}
    for e in history.events:
        env, p = e.envelope, e.envelope["payload"]
        if e.event_type == "intake.application_submitted":
            submitted[e.stream_id] = p["accepting_center_id"]
            assert env["org_id"] == p["accepting_center_id"]
        elif e.service == "intake" and e.stream_id in submitted:
            assert env["org_id"] == submitted[e.stream_id]  # 首问责任: the accepting center
        elif e.event_type.startswith("routing.case_"):
            assert env["org_id"] == p["org_id"] and env["tier"] == p["tier"]
        elif e.service == "notify":
            assert env["org_id"] is None and "phone" not in str(p)  # no personal data


def test_a_month_looks_like_the_centers_work() -> None:
    history = october()
    per_day = Counter(
        e.occurred_at.astimezone(SHANGHAI).date()
        for e in history.events
        if e.event_type == "intake.application_submitted"
    )
    # National Day (1-7 October) is quiet but for online submissions; the adjusted working
    # Saturday (10 October) is a full day
    assert sum(per_day[date(2026, 10, d)] for d in range(1, 8)) < per_day[date(2026, 10, 12)]
    assert per_day[date(2026, 10, 10)] > per_day[date(2026, 10, 11)] * 3
    types = Counter(e.event_type for e in history.events)
    submitted = types["intake.application_submitted"]
    assert 0.1 < types["intake.materials_missing_notified"] / submitted < 0.35
    assert types["routing.case_overdue"] < types["routing.case_decided"] * 0.1
