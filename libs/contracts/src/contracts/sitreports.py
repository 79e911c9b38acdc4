"""Situation reports up the tiers (情况报告制): the events of one report's life.

Every community center's report goes up to its town, every town's to the city, the city's
rolls up its towns' (weekly and monthly). The audit generates each from the event history
when its period closes (`generated`, status pending), the unit's head may add a written
comment and send it up (`submitted`); one still pending at its deadline is flagged (`late`).

The stream id is the report id, ``sitrep:<unit_id>:<period>:<first day>``. Figures are
integer counts (canonical JSON carries no floats): rates are derived by whoever reads them
(on-time = on_time / judged), by the same rule as `analytics.report.data`.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict

from .base import DomainEvent, event

Period = Literal["weekly", "monthly"]
ReportTier = Literal["community", "town", "city"]


class ReportFigures(BaseModel):
    """The head figures of a report (definitions: `analytics.report.data`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    received: int
    accepted: int
    completed: int
    on_time: int
    judged: int
    first_time: int
    corrected: int
    refused: int
    withdrawn: int
    overdue: int
    escalated: int
    rated: int
    satisfied: int
    bad_reviews: int
    joint_received: int = 0
    """Joint cases (联办件) registered at the unit's centers in the period, each once (its
    members are ordinary cases: in `completed` under the office that decided each)."""
    joint_completed: int = 0
    """Joint cases whose final result came in the period (counted at the accepting center)."""
    joint_on_time: int = 0
    """Of those, the ones by their promised date (`contracts.joint.joint_on_time`)."""


def report_id(unit_id: str, period: Period, first: date) -> str:
    """One report per (unit, period, first day): the stream id, the idempotency key."""
    return f"sitrep:{unit_id}:{period}:{first.isoformat()}"


@event
class SituationReportGenerated(DomainEvent):
    """The report of a closed period, generated from the history; pending its head's comment."""

    event_type = "audit.situation_report_generated"

    report_id: str
    unit_id: str
    unit_tier: ReportTier
    goes_to: str | None
    """The unit it goes up to (the town of a community, the city of a town; None: the city)."""
    period: Period
    first_day: date
    last_day: date
    deadline: AwareDatetime
    """Sent up by then, or flagged late."""
    figures: ReportFigures
    rolls_up: list[str]
    """The reports of the units directly below for the same period (a town's communities', the
    city's towns')."""
    document_sha256: str
    """SHA-256 of the stored HTML document (`GET` it from the audit)."""
    generated_by: str


@event
class SituationReportSubmitted(DomainEvent):
    """The head sent the report up, with their written comment (may be empty)."""

    event_type = "audit.situation_report_submitted"

    report_id: str
    unit_id: str
    comment: str
    submitted_by: str
    submitted_at: AwareDatetime
    late: bool
    """Sent after its deadline (it was flagged late before)."""


@event
class SituationReportLate(DomainEvent):
    """Still pending at its deadline: a late (or missing) report is itself on the record."""

    event_type = "audit.situation_report_late"

    report_id: str
    unit_id: str
    goes_to: str | None
    deadline: AwareDatetime
    flagged_at: AwareDatetime


__all__ = [
    "Period",
    "ReportFigures",
    "ReportTier",
    "SituationReportGenerated",
    "SituationReportLate",
    "SituationReportSubmitted",
    "report_id",
]
