"""One situation report's life: generated (pending) → submitted, or flagged late. Pure.

`decide(command, state, now) -> events` and `evolve(state, event) -> state`; the loop and
the routes fold a report's stream with `evolve` and append what `decide` returns.

The lateness rule: a report still pending when `now` reaches its deadline is flagged once
(`SituationReportLate`); sent up afterwards it is still accepted, marked `late`. A report that
was never generated at all is late the same way: the loop generates every due report, so a
period with no report is one the loop could not make, and it is flagged when made.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

from contracts.base import DomainEvent
from contracts.sitreports import (
    ReportFigures,
    SituationReportGenerated,
    SituationReportLate,
    SituationReportSubmitted,
)

from .schedule import DueReport

MAX_COMMENT = 4000
Status = Literal["none", "pending", "submitted"]


class Refused(ValueError):
    """A command the report's state does not allow; `field` names what is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class ReportState:
    status: Status = "none"
    report_id: str = ""
    unit_id: str = ""
    goes_to: str | None = None
    deadline: datetime | None = None
    flagged_late: bool = False
    comment: str = ""


@dataclass(frozen=True)
class Generate:
    due: DueReport
    figures: ReportFigures
    document_sha256: str


@dataclass(frozen=True)
class Submit:
    comment: str
    by: str


@dataclass(frozen=True)
class CheckLate:
    pass


Command = Generate | Submit | CheckLate


def decide(cmd: Command, state: ReportState, now: datetime) -> list[DomainEvent]:
    if isinstance(cmd, Generate):
        if state.status != "none":
            return []  # generated already: once per (unit, period)
        d = cmd.due
        events: list[DomainEvent] = [
            SituationReportGenerated(
                report_id=d.report_id,
                unit_id=d.unit.unit_id,
                unit_tier=d.unit.tier,
                goes_to=d.unit.parent_id,
                period=d.period,
                first_day=d.first,
                last_day=d.last,
                deadline=d.deadline,
                figures=cmd.figures,
                rolls_up=list(d.rolls_up),
                document_sha256=cmd.document_sha256,
                generated_by="audit",
            )
        ]
        if now >= d.deadline:  # made after its deadline (the loop was down): late at once
            events.append(
                SituationReportLate(
                    report_id=d.report_id,
                    unit_id=d.unit.unit_id,
                    goes_to=d.unit.parent_id,
                    deadline=d.deadline,
                    flagged_at=now,
                )
            )
        return events
    if isinstance(cmd, Submit):
        if state.status == "none":
            raise Refused("report_id", "no such report")
        if state.status == "submitted":
            raise Refused("report_id", "already sent up")
        comment = cmd.comment.strip()
        if len(comment) > MAX_COMMENT:
            raise Refused("comment", f"at most {MAX_COMMENT} characters")
        assert state.deadline is not None
        return [
            SituationReportSubmitted(
                report_id=state.report_id,
                unit_id=state.unit_id,
                comment=comment,
                submitted_by=cmd.by,
                submitted_at=now,
                late=now >= state.deadline,
            )
        ]
    # CheckLate
    if state.status != "pending" or state.flagged_late or state.deadline is None:
        return []
    if now < state.deadline:
        return []
    return [
        SituationReportLate(
            report_id=state.report_id,
            unit_id=state.unit_id,
            goes_to=state.goes_to,
            deadline=state.deadline,
            flagged_at=now,
        )
    ]


def evolve(state: ReportState, evt: DomainEvent) -> ReportState:
    if isinstance(evt, SituationReportGenerated):
        return ReportState(
            status="pending",
            report_id=evt.report_id,
            unit_id=evt.unit_id,
            goes_to=evt.goes_to,
            deadline=evt.deadline,
        )
    if isinstance(evt, SituationReportLate):
        return replace(state, flagged_late=True)
    if isinstance(evt, SituationReportSubmitted):
        return replace(state, status="submitted", comment=evt.comment)
    return state
