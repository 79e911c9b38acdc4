"""The intake events in the published language: registered, canonical, round-trippable."""

from __future__ import annotations

import pytest

import contracts.intake as intake_events
from contracts.base import REGISTRY, DomainEvent, payload_of, to_payload
from eventkit.envelope import Envelope, Producer
from intake.domain.application_commands import (
    DeliverResult,
    EvaluateService,
    RecordDecisionReceived,
    SupplementMaterials,
)

from .builders import AGENT_MABEI, OFFICER, RESIDENT, ROUTING, at, case_decider, case_id, pm, submit

pytestmark = pytest.mark.unit

EXPECTED_TYPES = {
    "intake.catalog_item_published",
    "intake.catalog_item_retired",
    "intake.application_submitted",
    "intake.materials_missing_notified",
    "intake.materials_supplemented",
    "intake.application_accepted",
    "intake.fee_override_recorded",
    "intake.application_withdrawn",
    "intake.decision_received",
    "intake.correction_request_received",
    "intake.correction_supplied",
    "intake.result_delivered",
    "intake.case_archived",
    "intake.service_evaluated",
    "intake.promised_date_revised",
    "intake.document_attached",
    "intake.joint_bundle_published",
    "intake.joint_materials_missing_notified",
    "intake.joint_application_submitted",
    "intake.joint_materials_supplemented",
    "intake.joint_result_recorded",
    "intake.joint_result_delivered",
    "intake.joint_application_accepted",
    "intake.personal_data_erased",
    "intake.legal_hold_placed",
    "intake.legal_hold_lifted",
    "intake.conflict_of_interest_found",
}


def test_every_intake_event_type_is_registered() -> None:
    assert intake_events.ApplicationAccepted.event_type in REGISTRY
    assert {t for t in REGISTRY if t.startswith("intake.")} == EXPECTED_TYPES


def full_trail() -> list[DomainEvent]:
    """A case through every step, each event as the decider produced it."""
    cid = case_id(1)
    steps = [
        (submit(materials_provided=(pm("ID_CARD", "copy", 2),)), at(2026, 9, 21)),
        (
            SupplementMaterials(
                case_id=cid,
                materials=(
                    pm("APPLICATION_FORM"),
                    pm("MARRIAGE_CERT", "copy"),
                    pm("HOUSEHOLD_REG", "copy"),
                    pm("PHOTO_1IN", copies=2),
                ),
                received_center_id="ruian.mayu.mabei",
                actor=AGENT_MABEI,
            ),
            at(2026, 9, 22),
        ),
        (
            RecordDecisionReceived(
                case_id=cid,
                decision_id="d1",
                decision="approve",
                decided_by=OFFICER.id,
                decided_at=at(2026, 9, 30),
                actor=ROUTING,
            ),
            at(2026, 9, 30),
        ),
        (
            DeliverResult(case_id=cid, method="mailed", tracking_no="EMS123", actor=AGENT_MABEI),
            at(2026, 10, 8),
        ),
        (EvaluateService(case_id=cid, score=2, comment="等太久", actor=RESIDENT), at(2026, 10, 9)),
    ]
    history: list[DomainEvent] = []
    for command, now in steps:
        history += case_decider().given(*history).when(command, now).then_events()
    return history


def test_events_survive_the_envelope_and_the_registry() -> None:
    trail = full_trail()
    assert [e.event_type for e in trail] == [
        "intake.application_submitted",
        "intake.materials_missing_notified",
        "intake.materials_supplemented",
        "intake.application_accepted",
        "intake.decision_received",
        "intake.result_delivered",
        "intake.service_evaluated",
    ]
    for evt in trail:
        env = Envelope(
            event_type=evt.event_type,
            stream_id=case_id(1),
            occurred_at=at(2026, 10, 9),
            producer=Producer(service="intake", instance="t"),
            actor=AGENT_MABEI,
            payload=to_payload(evt),
        )
        again = Envelope.from_json(env.canonical())  # canonical JSON: no floats anywhere
        assert payload_of(again) == evt


def test_personal_fields_are_grouped_under_applicant() -> None:
    submitted = full_trail()[0]
    assert isinstance(submitted, intake_events.ApplicationSubmitted)
    payload = to_payload(submitted)
    assert set(payload["applicant"]) >= {"name", "id_number", "phone", "address", "household_no"}
    for other in full_trail()[1:]:
        flat = str(to_payload(other))
        assert submitted.applicant.id_number not in flat
        assert submitted.applicant.phone not in flat
