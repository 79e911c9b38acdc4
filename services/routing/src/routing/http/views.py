"""Response shapes of the HTTP API (what /docs shows), built from state and read models."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel

from eventkit.envelope import Envelope

from ..domain.case_state import CaseState


class FollowUpView(BaseModel):
    followup_id: str
    evaluation_ref: str
    assigned_to: str
    answer_due_at: datetime
    answered: bool
    overdue_reported: bool


class CaseView(BaseModel):
    """Routing's side of a case: where it is handled, by whom, the clock and the outcome."""

    case_id: str
    status: str
    item_code: str
    category: str
    case_type: str
    handling_tier: str
    handling_unit_id: str
    handling_office_id: str
    accepting_center_id: str
    accepting_staff_id: str | None
    agent_id: str
    route: list[str]
    line_id: str | None = None
    """The handling unit's service line (服务条线); `accepting_line_id` the accepting
    center's, as intake recorded it (null: none, or routed before lines were recorded)."""
    accepting_line_id: str | None = None
    post_id: str | None
    assigned_to: str | None
    accepted_at: datetime | None
    promised_limit_days: int
    due_date: date | None
    due_at: datetime | None
    provisional_years: list[int] | None
    """Years the deadline was counted over without an official holiday schedule: the date
    may move when the year is published (empty: firm; null: not recorded)."""
    paused_at: datetime | None
    correction_id: str | None
    corrections: int
    warning_issued: bool
    overdue: bool
    escalation_level: int
    decision: str | None
    decided_by: str | None
    result_at_center: bool
    followups: list[FollowUpView]
    joint_hold: str | None = None
    """联办: `waiting_for_predecessor` or `stopped_by_refusal`; null: not held."""

    @classmethod
    def of(cls, state: CaseState) -> CaseView:
        assert state.case_id is not None
        return cls(
            case_id=state.case_id,
            status=state.status,
            item_code=state.item_code,
            category=state.category,
            case_type=state.case_type,
            handling_tier=state.handling_tier,
            handling_unit_id=state.handling_unit_id,
            handling_office_id=state.handling_office_id,
            accepting_center_id=state.accepting_center_id,
            accepting_staff_id=state.accepting_staff_id,
            agent_id=state.agent_id,
            route=list(state.route),
            line_id=state.line_id,
            accepting_line_id=state.accepting_line_id,
            post_id=state.post_id,
            assigned_to=state.assigned_to,
            accepted_at=state.accepted_at,
            promised_limit_days=state.promised_limit_days,
            due_date=state.due_date,
            due_at=state.due_at,
            provisional_years=(
                None if state.provisional_years is None else list(state.provisional_years)
            ),
            paused_at=state.paused_at,
            correction_id=state.correction_id,
            corrections=state.corrections,
            warning_issued=state.warning_issued,
            overdue=state.overdue,
            escalation_level=state.escalation_level,
            decision=state.decision,
            decided_by=state.decided_by,
            result_at_center=state.result_at_center,
            followups=[
                FollowUpView(
                    followup_id=f.followup_id,
                    evaluation_ref=f.evaluation_ref,
                    assigned_to=f.assigned_to,
                    answer_due_at=f.answer_due_at,
                    answered=f.answered,
                    overdue_reported=f.overdue_reported,
                )
                for f in state.followups
            ],
            joint_hold=state.joint_hold,
        )


class TrailEntry(BaseModel):
    """One event of the case stream, as stored: who did what, when, caused by what."""

    stream_version: int
    event_id: str
    event_type: str
    occurred_at: datetime
    actor: dict[str, Any]
    org_id: str | None
    tier: str | None
    correlation_id: str
    causation_id: str | None
    payload: dict[str, Any]

    @classmethod
    def of(cls, env: Envelope) -> TrailEntry:
        return cls(
            stream_version=env.stream_version,
            event_id=str(env.event_id),
            event_type=env.event_type,
            occurred_at=env.occurred_at,
            actor=env.actor.model_dump(),
            org_id=env.org_id,
            tier=env.tier,
            correlation_id=str(env.correlation_id),
            causation_id=str(env.causation_id) if env.causation_id else None,
            payload=env.payload,
        )


class CaseDetail(BaseModel):
    state: CaseView
    trail: list[TrailEntry]


class EventRef(BaseModel):
    event_id: str
    event_type: str


class CaseCommandResult(BaseModel):
    """What a case command did: the events it appended and the case afterwards."""

    case_id: str
    version: int
    events: list[EventRef]
    state: CaseView


class QueueItem(BaseModel):
    case_id: str
    item_code: str
    item_name_zh: str | None
    category: str
    case_type: str
    status: str
    handling_tier: str
    handling_unit_id: str
    handling_office_id: str
    accepting_center_id: str
    assigned_to: str | None
    post_id: str | None
    accepted_at: datetime | None
    due_date: date | None
    due_at: datetime | None
    provisional_years: list[int] | None
    overdue: bool
    warning_issued: bool
    escalation_level: int
    decision: str | None
    line_id: str | None = None
    """The handling unit's service line (服务条线) of the case; null: none recorded."""
    joint_hold: str | None = None
    """联办: `waiting_for_predecessor` or `stopped_by_refusal` (its clock does not run, it
    cannot be decided); null: not held."""

    @classmethod
    def of(cls, row: Any, now: datetime) -> QueueItem:
        running = row["status"] == "open" and row["joint_hold"] is None
        late = bool(row["overdue"]) or (
            running and row["due_at"] is not None and now > row["due_at"]
        )
        return cls(
            case_id=row["case_id"],
            item_code=row["item_code"],
            item_name_zh=row["item_name_zh"],
            category=row["category"],
            case_type=row["case_type"],
            status=row["status"],
            handling_tier=row["handling_tier"],
            handling_unit_id=row["handling_unit_id"],
            handling_office_id=row["handling_office_id"],
            accepting_center_id=row["accepting_center_id"],
            assigned_to=row["assigned_to"],
            post_id=row["post_id"],
            accepted_at=row["accepted_at"],
            due_date=row["due_date"],
            due_at=row["due_at"],
            provisional_years=row["provisional_years"],
            overdue=late,
            warning_issued=row["warning_issued"],
            escalation_level=row["escalation_level"],
            decision=row["decision"],
            line_id=row["line_id"],
            joint_hold=row["joint_hold"],
        )


class QueuePage(BaseModel):
    now: datetime
    count: int
    items: list[QueueItem]


class FollowUpItem(BaseModel):
    followup_id: str
    case_id: str
    center_id: str
    assigned_to: str
    score: int
    low_dimensions: list[str]
    comment: str | None
    answer_due_at: datetime
    opened_at: datetime
    answered: bool
    answered_by: str | None
    answered_on_time: bool | None
    overdue: bool


def event_refs(envelopes: list[Envelope]) -> list[EventRef]:
    return [EventRef(event_id=str(e.event_id), event_type=e.event_type) for e in envelopes]
