"""Everything the simulation takes from the services: their deciders, and their edges in
miniature.

A service's edge wraps its pure decider: it loads the state, builds the decider's context,
calls `decide(command, state, now)`, wraps each event in an envelope and appends it; its
consumers turn another service's events into commands. The simulation does the same with a
simulated clock, seeded ids and a list instead of PostgreSQL and Kafka — and with the
services' own deciders, contexts and translations wherever they are importable:

- intake (`IntakeRuntime.handle_case`): `application.decide` with an `IntakeContext` (the
  catalog as folded, the verification secret, the accepting center's office hours). Envelopes
  name the command's actor and carry the accepting center and its tier; an HTTP command
  starts a new correlation; a consumed routing event lends its correlation and is the cause.
  Its routing consumer: `case_decided` -> `RecordDecisionReceived`, `correction_requested`
  -> `RecordCorrectionRequested` (actor `INTAKE_ACTOR`).
- routing (`CaseService.handle_in`): `CaseDecider(org tree as of the command, policy)`.
  Envelopes name the actor, org and tier from the payload (`default_meta`); correlation: the
  consumed intake event's, else the case's first routing event's. Its intake consumer
  (`IntakeHandler`): acceptance -> `route_command` (routing's own), withdrawal, correction
  supplied (at the event's time), bad review (the intake event id as the reference). The
  deadline loop sends `CheckDeadlines` when `next_check_at` (routing's own schedule) has come,
  on its tick.
- notify (`IntentRecorder`, `Dispatcher`): `needs` and `plan` (notify's own planner) against
  the directory notify keeps from the events; a deferred SMS is a `DeliveryDeferred` when
  planned; each intent ends in `Delivered` or `DeliveryFailed` after the dispatcher's
  attempts and backoff. Whether a channel accepts a message is the simulation's choice (the
  world outside).

A service module that moves is adapted here; nothing else of the simulation imports one.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from contracts.base import DomainEvent, payload_of, to_payload
from contracts.intake import (
    ApplicationAccepted,
    ApplicationWithdrawn,
    CorrectionSupplied,
    ServiceEvaluated,
)
from contracts.notify import Delivered, DeliveryDeferred, DeliveryFailed
from contracts.routing import CaseDecided, CorrectionRequested
from contracts.workdays import OfficeHours
from eventkit.aggregate import default_meta
from eventkit.envelope import Actor, Envelope, Producer
from eventkit.loops import Backoff
from intake.consumers.routing_events import INTAKE_ACTOR
from intake.domain import application
from intake.domain import catalog as catalog_domain
from intake.domain.application import ApplicationState, IntakeContext
from intake.domain.application_commands import (
    ApplicationCommand,
    RecordCorrectionRequested,
    RecordDecisionReceived,
)
from intake.domain.catalog import CATALOG_STREAM, Catalog, CatalogCommand
from intake.domain.errors import DomainError as IntakeRefusal
from intake.domain.id_number import check_digit
from intake.seed_catalog import seed_commands as catalog_seed_commands
from notify.delivery.events import NOTIFY_ACTOR
from notify.domain import (
    CaseInfo,
    ChannelSetup,
    DeliveryIntent,
    Directory,
    StaffContact,
    needs,
    next_allowed_time,
    plan,
)
from notify.domain.quiet_hours import DEFAULT_QUIET_HOURS
from notify.settings import Settings as NotifySettings
from routing.cases.intake_consumer import route_command
from routing.cases.projection import next_check_at
from routing.domain.case import (
    CaseCommandType,
    CaseDecider,
    CaseState,
    CheckDeadlines,
    RecordCorrectionSupplied,
    RecordServiceEvaluation,
    RecordWithdrawal,
    evolve_case,
    initial_case_state,
)
from routing.domain.context import CaseContext
from routing.domain.errors import DomainError as RoutingRefusal
from routing.domain.org_admin import (
    OrgCommand,
    RecordStaffAbsence,
    decide_org,
    evolve_org,
    initial_org_state,
)
from routing.domain.org_model import OrgState
from routing.domain.policy import DeadlinePolicy
from routing.runtime import SYSTEM_ACTOR as ROUTING_ACTOR
from routing.seed_org import seed_org_commands
from routing.settings import Settings as RoutingSettings

from .history import SERVICE_TOPICS, GenEvent

__all__ = [
    "CATALOG_STREAM",
    "INTAKE_ACTOR",
    "NOTIFY_ACTOR",
    "ROUTING_ACTOR",
    "ApplicationState",
    "CaseState",
    "Refusal",
    "check_digit",
    "evolve_case",
    "initial_case_state",
]

Refusal = (IntakeRefusal, RoutingRefusal)
"""What a decider raises when it refuses a command: the edge answers 4xx, nothing is
written (an officer deciding a case withdrawn meanwhile, a late withdrawal...)."""

POLICY = DeadlinePolicy()
DEADLINE_TICK = timedelta(
    seconds=int(RoutingSettings.model_fields["deadline_check_interval_seconds"].default)
)
"""How often routing's deadline loop runs (its default setting)."""

_NOTIFY_DEFAULTS = {k: f.default for k, f in NotifySettings.model_fields.items()}
MAX_ATTEMPTS: int = _NOTIFY_DEFAULTS["max_attempts"]
BACKOFF = Backoff(
    initial=_NOTIFY_DEFAULTS["retry_initial_seconds"],
    maximum=_NOTIFY_DEFAULTS["retry_max_seconds"],
    multiplier=_NOTIFY_DEFAULTS["retry_multiplier"],
    jitter=_NOTIFY_DEFAULTS["retry_jitter"],
)
QUIET = DEFAULT_QUIET_HOURS
EMAIL_DOMAIN = "bianmin.local"
"""The Message-ID domain of notify's SMTP channel (its provider reference)."""

PRODUCERS = {svc: Producer(service=svc, instance=f"{svc}-1") for svc in SERVICE_TOPICS}
"""One instance of each service (a real one names its host and pid)."""


# -- appending -------------------------------------------------------------------------------
Ids = Callable[[], uuid.UUID]


class Store:
    """The three services' event stores at once: per-stream versions, and the envelopes in
    the order they were appended (each service's stream versions count from 1)."""

    def __init__(self, cutoff: datetime) -> None:
        self.cutoff = cutoff
        self.out: list[GenEvent] = []
        self.versions: dict[tuple[str, str], int] = {}
        self.stats: dict[str, int] = {}

    def append(
        self,
        service: str,
        stream_id: str,
        events: Sequence[DomainEvent],
        *,
        ids: Ids,
        now: datetime,
        actor: Actor,
        meta: Callable[[DomainEvent], tuple[str | None, str | None]],
        correlation: uuid.UUID,
        causation: uuid.UUID | None,
    ) -> list[Envelope]:
        """Wrap and append `events` as `service`'s edge does (`CommandRunner.wrap`)."""
        key = (service, stream_id)
        version = self.versions.get(key, 0)
        envelopes = []
        for evt in events:
            org_id, tier = meta(evt)
            version += 1
            env = Envelope(
                event_id=ids(),
                event_type=evt.event_type,
                schema_version=evt.schema_version,
                stream_id=stream_id,
                stream_version=version,
                occurred_at=now,
                producer=PRODUCERS[service],
                actor=actor,
                org_id=org_id,
                tier=tier,
                correlation_id=correlation,
                causation_id=causation,
                payload=to_payload(evt),
            )
            envelopes.append(env)
            self.out.append(
                GenEvent(service, now, stream_id, version, evt.event_type, env.canonical())
            )
            self.stats[evt.event_type] = self.stats.get(evt.event_type, 0) + 1
        self.versions[key] = version
        return envelopes

    def count(self, what: str) -> None:
        self.stats[what] = self.stats.get(what, 0) + 1


# -- reference data: the services' own seeds through their own deciders ------------------------
def seed_catalog(now: datetime) -> tuple[Catalog, list[tuple[CatalogCommand, list[DomainEvent]]]]:
    """intake's seeded catalog, published through the catalog decider (`seed_catalog_if_empty`)."""
    state = catalog_domain.initial_state()
    decided = []
    for cmd in catalog_seed_commands():
        events = catalog_domain.decide(cmd, state, now)
        for evt in events:
            state = catalog_domain.evolve(state, evt)
        decided.append((cmd, events))
    return state, decided


def seed_org(now: datetime) -> tuple[OrgState, list[tuple[OrgCommand, list[DomainEvent]]]]:
    """routing's seeded org tree through the org decider (`seed_org_if_empty`)."""
    state = initial_org_state()
    decided = []
    for cmd in seed_org_commands():
        events = decide_org(cmd, state, now)
        for evt in events:
            state = evolve_org(state, evt)
        decided.append((cmd, events))
    return state, decided


def record_absence(
    cmd: RecordStaffAbsence, state: OrgState, now: datetime
) -> tuple[OrgState, list[DomainEvent]]:
    """An admin records an absence (the org decider; `OrgAdmin.decide_and_append`)."""
    events = decide_org(cmd, state, now)
    for evt in events:
        state = evolve_org(state, evt)
    return state, events


# -- the deciders ------------------------------------------------------------------------------
def decide_intake(
    cmd: ApplicationCommand,
    state: ApplicationState,
    now: datetime,
    *,
    catalog: Catalog,
    secret: bytes,
    hours: OfficeHours,
) -> list[DomainEvent]:
    """intake's decider in its context. Like the edge, only a submission or a supplement
    (which may accept the case) is given the accepting center's hours."""
    return application.decide(cmd, state, now, IntakeContext(catalog, secret, hours))


def evolve_intake(state: ApplicationState, evt: DomainEvent) -> ApplicationState:
    return application.evolve(state, evt)


def initial_intake_state() -> ApplicationState:
    return application.initial_state()


def decide_routing(
    cmd: CaseCommandType, state: CaseState, now: datetime, org: OrgState
) -> list[DomainEvent]:
    """routing's case decider against the tree as it stands at `now`."""
    return CaseDecider(org, POLICY).decide(cmd, state, now)


def routing_meta(evt: DomainEvent) -> tuple[str | None, str | None]:
    return default_meta(evt)


def next_deadline_check(state: CaseState, org: OrgState, now: datetime) -> datetime | None:
    """When the deadline loop next sends `CheckDeadlines` to the case: at its first tick
    at or after routing's `next_check_at` (None when nothing is pending)."""
    due = next_check_at(state, CaseContext(org, POLICY))
    if due is None:
        return None
    due = max(due, now)
    tick = DEADLINE_TICK.total_seconds()
    ticks = -(-due.timestamp() // tick)  # the loop's ticks fall on multiples of its interval
    return datetime.fromtimestamp(ticks * tick, tz=due.tzinfo)


def check_deadlines(case_id: str) -> CheckDeadlines:
    return CheckDeadlines(case_id=case_id, actor=ROUTING_ACTOR)


# -- the consumers -----------------------------------------------------------------------------
def routing_command_for(env: Envelope) -> CaseCommandType | None:
    """What routing's intake consumer makes of an intake event (None: ignored)."""
    if env.event_type not in _ROUTING_CONSUMES:
        return None
    evt = payload_of(env)
    match evt:
        case ApplicationAccepted():
            return route_command(evt, ROUTING_ACTOR)
        case ApplicationWithdrawn():
            return RecordWithdrawal(case_id=evt.case_id, actor=ROUTING_ACTOR, reason=evt.reason)
        case CorrectionSupplied():
            return RecordCorrectionSupplied(
                case_id=evt.case_id,
                actor=ROUTING_ACTOR,
                correction_id=evt.correction_id,
                supplied_at=env.occurred_at,
            )
        case ServiceEvaluated() if evt.bad_review:
            return RecordServiceEvaluation(
                case_id=evt.case_id,
                actor=ROUTING_ACTOR,
                evaluation_ref=str(env.event_id),
                score=evt.score,
                bad_review=evt.bad_review,
                dimensions=evt.dimensions,
                comment=evt.comment,
            )
    return None


_ROUTING_CONSUMES = frozenset(
    {
        ApplicationAccepted.event_type,
        ApplicationWithdrawn.event_type,
        CorrectionSupplied.event_type,
        ServiceEvaluated.event_type,
    }
)


def intake_command_for(env: Envelope) -> ApplicationCommand | None:
    """What intake's routing consumer makes of a routing event (None: nothing)."""
    if env.event_type == CaseDecided.event_type:
        decided = payload_of(env)
        assert isinstance(decided, CaseDecided)
        return RecordDecisionReceived(
            case_id=decided.case_id,
            actor=INTAKE_ACTOR,
            decision_id=decided.decision_id,
            decision=decided.decision,
            reason=decided.reason,
            decided_by=decided.decided_by,
            decided_at=env.occurred_at,
        )
    if env.event_type == CorrectionRequested.event_type:
        asked = payload_of(env)
        assert isinstance(asked, CorrectionRequested)
        return RecordCorrectionRequested(
            case_id=asked.case_id,
            actor=INTAKE_ACTOR,
            correction_id=asked.correction_id,
            requested_materials=asked.requested_materials,
            note=asked.note,
            requested_by=asked.requested_by,
        )
    return None


# -- notify ------------------------------------------------------------------------------------
class CaseContacts:
    """What notify's directory projection keeps of one case (`apply_directory_event`): the
    applicant's contacts and the item from the submission, the receipt number from the
    acceptance. Read as plain dicts, as the projection does."""

    def __init__(self, case_id: str) -> None:
        self.info = CaseInfo(case_id)

    def see(self, env: Envelope) -> None:
        p = env.payload
        if env.event_type == "intake.application_submitted":
            a = p.get("applicant") or {}
            self.info = CaseInfo(
                case_id=p["case_id"],
                applicant_name=_s(a.get("name")) or "申请人",
                phone=_s(a.get("phone")),
                email=_s(a.get("email")),
                item_name_zh=p.get("item_name_zh"),
                receipt_no=self.info.receipt_no,
                accepting_center_id=self.info.accepting_center_id or p.get("accepting_center_id"),
                material_names={m["code"]: m["name_zh"] for m in p.get("required_materials") or ()},
            )
        elif env.event_type == "intake.application_accepted":
            i = self.info
            self.info = CaseInfo(
                case_id=i.case_id,
                applicant_name=i.applicant_name,
                phone=i.phone,
                email=i.email,
                item_name_zh=i.item_name_zh or p.get("item_name_zh"),
                receipt_no=p.get("receipt_no"),
                accepting_center_id=i.accepting_center_id or p.get("accepting_center_id"),
                material_names=i.material_names,
            )


def _s(v: Any) -> str | None:
    return v.strip() or None if isinstance(v, str) else None


def plan_deliveries(
    env: Envelope,
    contacts: CaseContacts,
    staff: Mapping[str, StaffContact],
    unit_names: Mapping[str, str],
    setup: ChannelSetup,
    now: datetime,
) -> tuple[DeliveryIntent, ...]:
    """notify's planner on one event, against the directory entries it names."""
    need = needs(env)
    if need is None:
        return ()
    directory = Directory(
        cases={contacts.info.case_id: contacts.info},
        staff={s: staff[s] for s in need.staff_ids if s in staff},
        units={u: unit_names[u] for u in need.unit_ids if u in unit_names},
    )
    planned = plan(env, directory, setup, now, QUIET)
    if planned.waiting_for is not None:  # a contact notify has not seen: it waits for ever
        return ()
    return planned.intents


def _delivery_fields(env: Envelope, intent: DeliveryIntent) -> dict[str, str]:
    return {
        "delivery_id": str(intent.delivery_id),
        "case_id": env.stream_id,
        "source_event_id": str(env.event_id),
        "source_event_type": env.event_type,
        "recipient_id": intent.recipient_id,
        "recipient_kind": intent.recipient_kind,
        "channel": intent.channel,
        "template": intent.template,
    }


def deferred(env: Envelope, intent: DeliveryIntent) -> DeliveryDeferred:
    """What `IntentRecorder.plan_and_record` appends for an SMS held by quiet hours."""
    return DeliveryDeferred(
        **_delivery_fields(env, intent),
        deferred_until=intent.due_at,
        reason="quiet_hours",
        deferred_by="notify",
    )


def delivered(env: Envelope, intent: DeliveryIntent, attempts: int, now: datetime) -> Delivered:
    """What the dispatcher appends when the channel accepted the message."""
    if intent.channel == "sms":
        ref: str | None = f"file:{intent.delivery_id}"  # the SMS gateway of `make run`
    elif intent.channel == "email":
        ref = f"<{intent.delivery_id}@{EMAIL_DOMAIN}>"
    else:
        ref = None
    return Delivered(
        **_delivery_fields(env, intent),
        attempts=attempts,
        delivered_at=now,
        provider_ref=ref,
        delivered_by="notify",
    )


def failed(
    env: Envelope, intent: DeliveryIntent, attempts: int, now: datetime, error: str, permanent: bool
) -> DeliveryFailed:
    return DeliveryFailed(
        **_delivery_fields(env, intent),
        attempts=attempts,
        permanent=permanent,
        error=error,
        failed_at=now,
        failed_by="notify",
    )


def retry_at(intent: DeliveryIntent, attempts: int, now: datetime, jitter: float) -> datetime:
    """When the dispatcher tries again after a transient failure (its backoff, quiet hours
    respected); `jitter` in [0, 1) is the random part of the backoff."""
    delay = BACKOFF.base(attempts) * (1 - BACKOFF.jitter * jitter)
    return next_allowed_time(
        intent.channel, intent.recipient_kind, now + timedelta(seconds=int(delay)), QUIET
    )
