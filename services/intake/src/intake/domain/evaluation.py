"""好差评 the resident's evaluation: once per case, after the result is delivered; a bad review is
marked by the shared `contracts.intake.is_bad_review`."""

from __future__ import annotations

from contracts.base import DomainEvent
from contracts.intake import (
    ServiceEvaluated,
    is_bad_review,
)

from .application_commands import (
    EVALUATION_DIMENSIONS,
    EvaluateService,
)
from .errors import (
    AlreadyExists,
    InvalidField,
    WrongStatus,
)
from .state import ApplicationState, submission_of

COMMENT_MAX = 500


def decide_evaluate(cmd: EvaluateService, state: ApplicationState) -> list[DomainEvent]:
    sub = submission_of(state)
    if state.status not in ("delivered", "archived"):
        raise WrongStatus(
            "status", f"the case is {state.status}; evaluation opens after the result is delivered"
        )
    if state.evaluated:
        raise AlreadyExists("case_id", "this case was already evaluated (once per case)")
    if not 1 <= cmd.score <= 5:
        raise InvalidField("score", f"{cmd.score} is outside 1..5")
    for key, value in cmd.dimensions.items():
        if key not in EVALUATION_DIMENSIONS:
            raise InvalidField(
                f"dimensions.{key}", f"unknown dimension; known: {', '.join(EVALUATION_DIMENSIONS)}"
            )
        if not 1 <= value <= 5:
            raise InvalidField(f"dimensions.{key}", f"{value} is outside 1..5")
    comment = (cmd.comment or "").strip() or None
    if comment is not None and len(comment) > COMMENT_MAX:
        raise InvalidField("comment", f"at most {COMMENT_MAX} characters")
    return [
        ServiceEvaluated(
            case_id=sub.case_id,
            score=cmd.score,
            dimensions=dict(cmd.dimensions),
            comment=comment,
            bad_review=is_bad_review(cmd.score),
            accepting_center_id=sub.accepting_center_id,
            accepting_staff_id=sub.accepting_staff_id,
            evaluated_by=cmd.actor.id,
        )
    ]
