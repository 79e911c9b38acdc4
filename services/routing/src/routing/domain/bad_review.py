"""好差评 follow-up: a bad review (score 1-2) becomes a task for the accepting center's head.

`RecordServiceEvaluation` comes from intake's `intake.service_evaluated`. A bad review —
as intake flagged it (`bad_review`, drawn by `contracts.intake.is_bad_review`) — opens one
follow-up for the head of the center that accepted the case (the center the resident
dealt with; the nearest head above when it has none), to be answered by close of business
on the Nth working day (policy) after it was opened, by that center's hours. Dimensions
rated at most 2 are listed so the head sees what went wrong. The same evaluation
(`evaluation_ref`, e.g. intake's event id) never opens two follow-ups.

`AnswerFollowUp` is the head's answer, by the head it was given to and nobody else: the
follow-up is that head's accountability (责任追究制), so an admin (who keeps reference data,
not centers) or another head answering in their place would put a name on the trail that
never spoke to the resident. An unanswered follow-up goes overdue through `CheckDeadlines`.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from contracts.base import DomainEvent
from contracts.intake import is_bad_review
from contracts.routing import BadReviewFollowUpAnswered, BadReviewFollowUpOpened
from contracts.workdays import local_date

from .case_state import CaseCommand, CaseState, require_known
from .context import CaseContext
from .errors import InvalidValue, NotPermitted, UnknownReference, Unroutable, WrongState


class RecordServiceEvaluation(CaseCommand):
    evaluation_ref: str = Field(min_length=1)
    score: int = Field(ge=1, le=5)
    bad_review: bool  # intake's verdict, carried in the event: routing never re-draws the line
    dimensions: dict[str, int] = Field(default_factory=dict)
    comment: str | None = None


class AnswerFollowUp(CaseCommand):
    followup_id: str = Field(min_length=1)
    answer: str


def decide_evaluation(
    cmd: RecordServiceEvaluation, state: CaseState, now: datetime, ctx: CaseContext
) -> list[DomainEvent]:
    require_known(cmd, state)
    if not cmd.bad_review:
        return []
    if any(f.evaluation_ref == cmd.evaluation_ref for f in state.followups):
        return []
    found = ctx.org.nearest_head(state.accepting_center_id)
    if found is None:
        raise Unroutable("case_id", f"no center head at or above {state.accepting_center_id}")
    center_id, head = found
    hours = ctx.hours_of(state.accepting_center_id)
    days = ctx.policy.followup_answer_working_days
    due_day = ctx.calendar.add_working_days(local_date(now), days)
    return [
        BadReviewFollowUpOpened(
            **state.case_fields(),
            followup_id=f"{state.case_id}.followup.{len(state.followups) + 1}",
            evaluation_ref=cmd.evaluation_ref,
            score=cmd.score,
            low_dimensions=tuple(sorted(k for k, v in cmd.dimensions.items() if is_bad_review(v))),
            comment=(cmd.comment or "").strip() or None,
            center_id=center_id,
            assigned_to=head,
            answer_due_at=hours.close_of_business(due_day, calendar=ctx.calendar),
            opened_by=cmd.actor.id,
        )
    ]


def decide_answer(
    cmd: AnswerFollowUp, state: CaseState, now: datetime, ctx: CaseContext
) -> list[DomainEvent]:
    require_known(cmd, state)
    followup = state.followup(cmd.followup_id)
    if followup is None:
        raise UnknownReference("followup_id", f"no follow-up {cmd.followup_id!r} on this case")
    if followup.answered:
        raise WrongState("followup_id", "the follow-up is already answered")
    if cmd.actor.id != followup.assigned_to:
        raise NotPermitted(
            "actor",
            f"the follow-up is the accountability of {followup.assigned_to}, the head it was "
            "given to; only they answer it",
        )
    if not cmd.answer.strip():
        raise InvalidValue("answer", "an answer cannot be blank")
    return [
        BadReviewFollowUpAnswered(
            **state.case_fields(),
            followup_id=cmd.followup_id,
            answer=cmd.answer.strip(),
            answered_by=cmd.actor.id,
            on_time=now <= followup.answer_due_at,
        )
    ]
