"""Anomaly rule definitions: data (JSON), validated here. The engine knows a few rule *kinds*;
each rule names the event types and payload fields it reads, so aligning the rules with the
final event contracts is an edit of `rules.json` (or AUDIT_ANOMALY_RULES_FILE), not of code.

Field names assumed by the shipped `rules.json` (libs/contracts intake.py / routing.py as of
this writing): intake.application_submitted / _accepted: item_code, item_version,
fee_charged_fen | fee_paid_fen, deposit_charged_fen | deposit_paid_fen, fee_standard_fen,
deposit_standard_fen, accepting_staff_id, applicant.{id_number, household_no};
intake.catalog_item_published: item.{code, version, effective_from, fee.amount_fen,
deposit.amount_fen}; routing.case_assigned.assigned_to; routing.case_reassigned.to_officer;
routing.case_decided.decided_by; routing.case_routed.{case_type, handling_tier,
handling_unit_id}; routing.deadline_set.due_at; routing.deadline_recomputed.due_at;
routing.bad_review_followup_opened.answer_due_at; intake.service_evaluated.bad_review;
routing.staff_registered.{staff_id, id_number, household_no};
intake.conflict_of_interest_found.{staff_id, role_field, same} (intake's own 回避 finding on
sealed applicants, issue 15);
audit.situation_report_generated.deadline (the audit's own situation-report events, on the
report's stream `sitrep:<unit>:<period>:<first day>`, come back into the log through its
outbox like any event, and the rules read them: a late or missing report is an anomaly).
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter


class _M(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class _Rule(_M):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    description: str
    severity: Literal["info", "warning", "serious"] = "warning"
    enabled: bool = True


class AmountCheck(_M):
    name: str
    charged_fields: tuple[str, ...]
    """The first present of these payload fields is what was charged."""
    catalog_path: tuple[str, ...]
    """Path of the standard amount in a catalog item version (missing -> 0)."""
    declared_field: str | None = None
    """The event's own statement of the standard, used when the catalog is unknown."""


class StandardMismatch(_Rule):
    """Fee or deposit charged differs from the published standard in force."""

    kind: Literal["standard_mismatch"]
    event_types: tuple[str, ...]
    item_field: str = "item_code"
    checks: tuple[AmountCheck, ...]


class FieldRef(_M):
    event_type: str
    field: str


class DecisionRight(_Rule):
    """A decision (`event_types`, the decider in `actor_field`) that THE DECISION RULE
    (`contracts.decisions.decision_right`, the rule routing's decider enforces) does not
    allow: not the latest assignee (`assignments`), and not a same-day item decided at its
    community center's window. The case's type, tier and handling unit come from `route`
    (fields `case_type`, `handling_tier`, `handling_unit_id`); the decider's unit and roles
    from the staff register in the log (`RuleContext.staff_post`)."""

    kind: Literal["decision_right"]
    event_types: tuple[str, ...]
    actor_field: str
    assignments: tuple[FieldRef, ...]
    route: str = "routing.case_routed"


class FieldIn(_M):
    field: str
    values: tuple[Any, ...]


class RequiresPrior(_Rule):
    """A trigger event needs one of `requires_any` earlier in the case (by occurred_at)."""

    kind: Literal["requires_prior"]
    event_types: tuple[str, ...]
    requires_any: tuple[str, ...]
    unless_any: tuple[str, ...] = ()
    """Cases with any of these events are exempt (e.g. withdrawn)."""
    unless_field: FieldIn | None = None
    """Trigger events whose field has one of these values are exempt."""


class DueSource(_M):
    """Where the due time is read: `field` of the latest event of `event_type` (or of any of
    `event_types`: e.g. a deadline set, then counted again), or a fixed delay after the start."""

    event_type: str | None = None
    event_types: tuple[str, ...] = ()
    field: str | None = None
    after_start_hours: float | None = None

    @property
    def types(self) -> tuple[str, ...]:
        return ((self.event_type,) if self.event_type else ()) + self.event_types


class StartSpec(_M):
    event_types: tuple[str, ...]
    where: dict[str, Any] = {}


class Deadline(_Rule):
    """Started by `start`, due per `due` (first source found), done by any of `done_by`;
    flagged when done late, or not done once `now` is past the due time (not while paused).
    Any of `also_flag_on` (the producing service's own overdue events) flags at once."""

    kind: Literal["deadline"]
    start: StartSpec
    due: tuple[DueSource, ...]
    done_by: tuple[str, ...]
    paused_by: tuple[str, ...] = ()
    resumed_by: tuple[str, ...] = ()
    also_flag_on: tuple[str, ...] = ()


class CountExceeds(_Rule):
    kind: Literal["count_exceeds"]
    event_types: tuple[str, ...]
    max: int = Field(ge=0)


class KeyedPointer(_M):
    event_type: str
    pointer: str
    """JSON pointer into the envelope (e.g. /payload/applicant/id_number)."""
    as_: str = Field(alias="as")
    """Identity kind it is compared as: id_number or household_no."""


class ConflictOfInterest(_Rule):
    """A staff member handling the case is the applicant or of the applicant's household:
    the applicant's keyed hashes (HMAC, from personal_data, never from the leaf) equal the
    staff member's keyed identity (staff_identity). Sealed applicants (issue 15) hide the ID
    number from the audit: intake, which opens them, makes the comparison and publishes the
    finding (`found`: `intake.conflict_of_interest_found`, naming the case, the staff member,
    the act and which identity matched, no identity itself); the keyed comparison stays for
    events written before sealing."""

    kind: Literal["conflict_of_interest"]
    applicant: tuple[KeyedPointer, ...]
    staff_fields: tuple[FieldRef, ...]
    found: tuple[str, ...] = ()


class ForeignProducer(_Rule):
    """An event on a topic of the contracts whose envelope names a producer other than the
    topic's owner (`contracts.topics.PRODUCER_OF`, the table the Kafka ACLs come from): a
    forgery, or a service writing where it must not. Every consumer dead-letters it
    (`producer_not_owner`); the log keeps it, and this flags its case."""

    kind: Literal["foreign_producer"]


Rule = Annotated[
    StandardMismatch
    | DecisionRight
    | RequiresPrior
    | Deadline
    | CountExceeds
    | ConflictOfInterest
    | ForeignProducer,
    Field(discriminator="kind"),
]


class StaffIdentitySource(_M):
    """Where staff identities (keyed hashes) come from in the log."""

    event_type: str
    staff_field: str
    pointers: dict[str, str]
    """JSON pointer -> identity kind."""


class CatalogSource(_M):
    event_type: str = "intake.catalog_item_published"
    item_path: tuple[str, ...] = ("item",)
    code_field: str = "code"
    version_field: str = "version"
    effective_from_field: str = "effective_from"


class RuleSet(_M):
    rules: tuple[Rule, ...]
    catalog: CatalogSource = CatalogSource()
    staff_identity: tuple[StaffIdentitySource, ...] = ()

    def enabled(self) -> list[Any]:
        return [r for r in self.rules if r.enabled]

    def checks_producers(self) -> bool:
        """Whether a case with an event from a foreign producer must be evaluated, whatever
        its event type."""
        return any(isinstance(r, ForeignProducer) for r in self.enabled())

    def event_types(self) -> set[str]:
        """Every event type some rule reads: a case with one of them gets evaluated."""
        out: set[str] = set()
        for r in self.rules:
            for name in (
                "event_types",
                "requires_any",
                "unless_any",
                "done_by",
                "paused_by",
                "resumed_by",
                "also_flag_on",
            ):
                out.update(getattr(r, name, ()) or ())
            if isinstance(r, Deadline):
                out.update(r.start.event_types)
                out.update(t for d in r.due for t in d.types)
            if isinstance(r, DecisionRight):
                out.update(a.event_type for a in r.assignments)
                out.add(r.route)
            if isinstance(r, ConflictOfInterest):
                out.update(a.event_type for a in r.applicant)
                out.update(s.event_type for s in r.staff_fields)
                out.update(r.found)
        return out


_ADAPTER = TypeAdapter(RuleSet)


def load_rules(path: Path | None = None) -> RuleSet:
    if path is None:
        text = (resources.files("audit.anomaly") / "rules.json").read_text(encoding="utf-8")
    else:
        text = path.read_text(encoding="utf-8")
    return _ADAPTER.validate_python(json.loads(text))
