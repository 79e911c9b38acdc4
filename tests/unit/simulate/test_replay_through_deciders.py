"""A generated history is what the services would have written: every event is re-derived
from the services' own deciders and nothing else.

For each stream the test folds the events with the service's `evolve`, and for each group
of events one command appended (same moment, actor, correlation and cause) it rebuilds the
command the way the service's edge would have received it — from the envelope's actor and
the event's fields for a person's command (HTTP), from the causing event of the other
service for a consumer's command, `CheckDeadlines` for the deadline loop — runs the decider
on the state before the group, in the context the edge would give it (the org tree as of
that moment, the catalog, the verification secret, the accepting center's hours), and
requires the decider's events to be exactly the group's, in order. The seeds, absences and
catalog are re-derived the same way, and notify's outcomes are checked against notify's
planner. The commands are rebuilt here, independently of the generator's own bookkeeping:
an event no decider would write for the command its envelope implies fails the test.
"""

from __future__ import annotations

import bisect
import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from typing import Any

import pytest

from bianmin_tools.simulate import GeneratorConfig, History
from bianmin_tools.simulate.case import generated_key, sealed_as_generated
from contracts.base import DomainEvent, payload_of, to_payload
from contracts.intake import (
    ApplicationAccepted,
    ApplicationSubmitted,
    ApplicationWithdrawn,
    CorrectionSupplied,
    SealedApplicant,
    ServiceEvaluated,
    open_applicant,
)
from contracts.notify import DeliveryDeferred
from contracts.routing import ORG_STREAM_ID, CaseDecided, CorrectionRequested
from contracts.upcasters import UPCASTERS
from contracts.workdays import SHANGHAI, OfficeHours, add_working_days
from eventkit.envelope import Actor, Envelope
from eventkit.personal_data import is_sealed, is_subject_id
from intake.domain import application
from intake.domain import catalog as catalog_domain
from intake.domain.application import IntakeContext
from intake.domain.application_commands import (
    ArchiveCase,
    DeliverResult,
    EvaluateService,
    RecordCorrectionRequested,
    RecordDecisionReceived,
    SubmitApplication,
    SupplementMaterials,
    SupplyCorrection,
    WithdrawApplication,
)
from intake.domain.catalog import CATALOG_STREAM, PublishCatalogItem
from intake.domain.id_number import id_number_problem
from notify.domain import CaseInfo, ChannelSetup, Directory, StaffContact, needs, plan
from routing.domain.case import (
    AnswerFollowUp,
    CaseDecider,
    CheckDeadlines,
    DecideCase,
    ReassignCase,
    RecordCorrectionSupplied,
    RecordServiceEvaluation,
    RecordWithdrawal,
    RequestCorrection,
    ReturnResult,
    RouteAcceptedCase,
    evolve_case,
    initial_case_state,
)
from routing.domain.org_admin import RecordStaffAbsence, decide_org, evolve_org, initial_org_state
from routing.domain.org_model import OrgState
from routing.domain.policy import DeadlinePolicy
from routing.seed_org import seed_org_commands

from .support import small_history

pytestmark = pytest.mark.unit

INTAKE = Actor(id="intake", role="system")
ROUTING = Actor(id="routing", role="system")
"""The system actors of the services' consumers and of routing's deadline loop."""


def _envelopes(history: History, service: str) -> dict[str, list[Envelope]]:
    streams: dict[str, list[Envelope]] = defaultdict(list)
    for e in history.events:
        if e.service == service:
            streams[e.stream_id].append(UPCASTERS.upcast_envelope(Envelope.from_json(e.raw)))
    for envs in streams.values():
        envs.sort(key=lambda env: env.stream_version)
        assert [env.stream_version for env in envs] == list(range(1, len(envs) + 1))
    return streams


def _command_key(env: Envelope) -> tuple[Any, ...]:
    return (env.occurred_at, env.actor, env.correlation_id, env.causation_id)


def _groups(envs: Sequence[Envelope]) -> list[list[Envelope]]:
    """Consecutive events one command appended: same moment, actor, correlation, cause."""
    out: list[list[Envelope]] = []
    for env in envs:
        if out and _command_key(out[-1][0]) == _command_key(env):
            out[-1].append(env)
        else:
            out.append([env])
    return out


def _same(decided: Sequence[DomainEvent], group: Sequence[Envelope], where: str) -> None:
    got = [(e.event_type, to_payload(e)) for e in decided]
    stored = [(env.event_type, env.payload) for env in group]
    assert got == stored, f"{where}: the decider wrote\n{got}\nthe history holds\n{stored}"


class Replay:
    """The reference data of the history, re-derived, and lookups for the case streams."""

    def __init__(self, history: History) -> None:
        self.config: GeneratorConfig = history.config
        self.intake = _envelopes(history, "intake")
        self.routing = _envelopes(history, "routing")
        self.notify = _envelopes(history, "notify")
        self.by_id: dict[uuid.UUID, Envelope] = {
            env.event_id: env
            for streams in (self.intake, self.routing)
            for envs in streams.values()
            for env in envs
        }
        self.catalog = self._catalog()
        self.org_times: list[datetime] = []
        self.org_states: list[OrgState] = []
        self._org()

    def _catalog(self) -> catalog_domain.Catalog:
        state = catalog_domain.initial_state()
        for env in self.intake[CATALOG_STREAM]:
            evt = payload_of(env)
            command = PublishCatalogItem(item=evt.item, actor=env.actor)  # type: ignore[attr-defined]
            _same(catalog_domain.decide(command, state, env.occurred_at), [env], "catalog")
            state = catalog_domain.evolve(state, evt)
        return state

    def _org(self) -> None:
        """The seed, re-derived command by command from routing's seed; then each absence."""
        envs = self.routing[ORG_STREAM_ID]
        seeded = envs[0].occurred_at
        state, i = initial_org_state(), 0
        for command in seed_org_commands():
            events = decide_org(command, state, seeded)
            _same(events, envs[i : i + len(events)], "org seed")
            assert all(env.actor == command.actor for env in envs[i : i + len(events)])
            for evt in events:
                state = evolve_org(state, evt)
            i += len(events)
        self.org_times.append(seeded)
        self.org_states.append(state)
        for env in envs[i:]:
            p = env.payload
            command = RecordStaffAbsence(
                actor=env.actor,
                absence_id=p["absence_id"],
                staff_id=p["staff_id"],
                starts_at=p["starts_at"],
                ends_at=p["ends_at"],
                kind=p["kind"],
                reason=p["reason"],
            )
            events = decide_org(command, state, env.occurred_at)
            _same(events, [env], f"absence {p['absence_id']}")
            state = evolve_org(state, events[0])
            self.org_times.append(env.occurred_at)
            self.org_states.append(state)

    def org_at(self, t: datetime) -> OrgState:
        return self.org_states[bisect.bisect_right(self.org_times, t) - 1]

    def cause(self, env: Envelope, event_type: str) -> Envelope:
        """The other service's event a consumer's command came from."""
        assert env.causation_id is not None, f"{env.event_type} names no cause"
        cause = self.by_id[env.causation_id]
        assert cause.event_type == event_type, (env.event_type, cause.event_type)
        assert env.correlation_id == cause.correlation_id  # a consumer continues the thread
        return cause


# -- intake --------------------------------------------------------------------------------------
def _opened(r: Replay, case_id: str, sealed: dict[str, Any]) -> dict[str, Any]:
    """The generated applicant in the clear: the test re-derives the generator's key."""
    key, _ = generated_key(r.config.seed, case_id)
    return open_applicant(key, case_id, SealedApplicant.model_validate(sealed)).model_dump()


def _intake_command(r: Replay, group: list[Envelope]) -> Any:
    env, p, actor = group[0], group[0].payload, group[0].actor
    case_id = env.stream_id
    match env.event_type:
        case "intake.application_submitted":
            return SubmitApplication(
                case_id=case_id,
                actor=actor,
                item_code=p["item_code"],
                applicant=_opened(r, case_id, p["applicant"]),
                materials_provided=p["materials_provided"],
                accepting_center_id=p["accepting_center_id"],
                accepting_staff_id=p["accepting_staff_id"],
                channel=p["channel"],
                fee_paid_fen=p["fee_paid_fen"],
                deposit_paid_fen=p["deposit_paid_fen"],
                payment_receipt_no=p["payment_receipt_no"],
            )
        case "intake.materials_supplemented":
            return SupplementMaterials(
                case_id=case_id,
                actor=actor,
                materials=p["supplied"],
                received_center_id=p["received_center_id"],
            )
        case "intake.application_withdrawn":
            return WithdrawApplication(
                case_id=case_id, actor=actor, reason=p["reason"], confirmation=p["confirmation"]
            )
        case "intake.decision_received":
            cause = r.cause(env, "routing.case_decided")
            decided = payload_of(cause)
            assert isinstance(decided, CaseDecided)
            return RecordDecisionReceived(
                case_id=case_id,
                actor=actor,
                decision_id=decided.decision_id,
                decision=decided.decision,
                reason=decided.reason,
                decided_by=decided.decided_by,
                decided_at=cause.occurred_at,  # when routing decided: its event's time
            )
        case "intake.correction_request_received":
            asked = payload_of(r.cause(env, "routing.correction_requested"))
            assert isinstance(asked, CorrectionRequested)
            return RecordCorrectionRequested(
                case_id=case_id,
                actor=actor,
                correction_id=asked.correction_id,
                requested_materials=asked.requested_materials,
                note=asked.note,
                requested_by=asked.requested_by,
            )
        case "intake.correction_supplied":
            return SupplyCorrection(
                case_id=case_id,
                actor=actor,
                correction_id=p["correction_id"],
                materials=p["materials"],
                note=p["note"],
                received_center_id=p["received_center_id"],
            )
        case "intake.result_delivered":
            return DeliverResult(
                case_id=case_id,
                actor=actor,
                method=p["method"],
                center_id=p["center_id"],
                tracking_no=p["tracking_no"],
            )
        case "intake.case_archived":
            return ArchiveCase(case_id=case_id, actor=actor, archive_no=p["archive_no"])
        case "intake.service_evaluated":
            return EvaluateService(
                case_id=case_id,
                actor=actor,
                score=p["score"],
                dimensions=p["dimensions"],
                comment=p["comment"],
            )
    raise AssertionError(f"no intake command starts with {env.event_type}")


def _replay_intake_case(r: Replay, envs: list[Envelope]) -> int:
    state = application.initial_state()
    center = envs[0].payload["accepting_center_id"]
    commands = 0
    for group in _groups(envs):
        command = _intake_command(r, group)
        now = group[0].occurred_at
        org = r.org_at(now)
        # the edge gives the accepting center's hours to a command that may accept the case
        hours = (
            org.units[center].office_hours
            if isinstance(command, SubmitApplication | SupplementMaterials)
            else OfficeHours.standard()
        )
        ctx = IntakeContext(r.catalog, r.config.verification_secret, hours)
        decided = application.decide(command, state, now, ctx)
        # intake seals the submission's applicant as it stores it (issue 15)
        stored = [sealed_as_generated(r.config.seed, e) for e in decided]
        _same(stored, group, f"{envs[0].stream_id} {type(command).__name__}")
        for env in group:  # 首问责任: every event carries the accepting center and its tier
            assert (env.org_id, env.tier) == (center, org.units[center].tier)
        if isinstance(command, RecordDecisionReceived | RecordCorrectionRequested):
            assert command.actor == INTAKE  # intake's consumer records routing's facts
        else:
            assert group[0].causation_id is None  # a person's request, not a consumer's
        for evt in decided:
            state = application.evolve(state, evt)
        commands += 1
    return commands


# -- routing -------------------------------------------------------------------------------------
CONSUMED = frozenset(
    {
        "routing.case_routed",
        "routing.case_withdrawn",
        "routing.correction_received",
        "routing.bad_review_followup_opened",
    }
)
"""What routing writes on intake's events: its intake consumer, as the system actor."""
CHECKS = frozenset(
    {
        "routing.deadline_warning_issued",
        "routing.case_overdue",
        "routing.case_escalated",
        "routing.followup_overdue",
    }
)


def _routing_command(r: Replay, group: list[Envelope]) -> Any:
    env, p, actor = group[0], group[0].payload, group[0].actor
    case_id = env.stream_id
    t = env.event_type
    if t in CONSUMED:
        assert actor == ROUTING
    if t == "routing.case_routed":
        accepted = payload_of(r.cause(env, "intake.application_accepted"))
        assert isinstance(accepted, ApplicationAccepted)
        return RouteAcceptedCase(
            case_id=case_id,
            actor=actor,
            item_code=accepted.item_code,
            item_version=accepted.item_version,
            category=accepted.category,
            handling_tier=accepted.handling_tier,
            registered_community_id=accepted.registered_community_id,
            accepting_center_id=accepted.accepting_center_id,
            accepting_staff_id=accepted.accepting_staff_id,
            promised_limit_days=accepted.promised_limit_days,
            case_type=accepted.case_type,
            accepted_at=accepted.accepted_at,
            material_codes=tuple(m.code for m in accepted.required_materials),
        )
    if t in CHECKS:
        assert actor == ROUTING and env.causation_id is None
        return CheckDeadlines(case_id=case_id, actor=actor)
    if t in ("routing.case_decided", "routing.correction_closed"):
        decided = next(g.payload for g in group if g.event_type == "routing.case_decided")
        return DecideCase(
            case_id=case_id, actor=actor, decision=decided["decision"], reason=decided["reason"]
        )
    if t == "routing.case_reassigned":
        return ReassignCase(
            case_id=case_id, actor=actor, to_officer=p["to_officer"], reason=p["reason"]
        )
    if t == "routing.correction_requested":
        return RequestCorrection(
            case_id=case_id,
            actor=actor,
            requested_materials=p["requested_materials"],
            note=p["note"],
        )
    if t == "routing.correction_received":
        supplied = r.cause(env, "intake.correction_supplied")
        assert isinstance(payload_of(supplied), CorrectionSupplied)
        return RecordCorrectionSupplied(
            case_id=case_id,
            actor=actor,
            correction_id=supplied.payload["correction_id"],
            supplied_at=supplied.occurred_at,
        )
    if t == "routing.case_withdrawn":
        withdrawn = payload_of(r.cause(env, "intake.application_withdrawn"))
        assert isinstance(withdrawn, ApplicationWithdrawn)
        return RecordWithdrawal(case_id=case_id, actor=actor, reason=withdrawn.reason)
    if t == "routing.result_returned":
        return ReturnResult(case_id=case_id, actor=actor)
    if t == "routing.bad_review_followup_opened":
        cause = r.cause(env, "intake.service_evaluated")
        rated = payload_of(cause)
        assert isinstance(rated, ServiceEvaluated) and rated.bad_review
        return RecordServiceEvaluation(
            case_id=case_id,
            actor=actor,
            evaluation_ref=str(cause.event_id),
            score=rated.score,
            bad_review=rated.bad_review,
            dimensions=rated.dimensions,
            comment=rated.comment,
        )
    if t == "routing.bad_review_followup_answered":
        return AnswerFollowUp(
            case_id=case_id, actor=actor, followup_id=p["followup_id"], answer=p["answer"]
        )
    raise AssertionError(f"no routing command starts with {t}")


def _replay_routing_case(r: Replay, envs: list[Envelope]) -> int:
    state = initial_case_state()
    commands = 0
    for group in _groups(envs):
        command = _routing_command(r, group)
        now = group[0].occurred_at
        decided = CaseDecider(r.org_at(now), DeadlinePolicy()).decide(command, state, now)
        _same(decided, group, f"{envs[0].stream_id} {type(command).__name__}")
        for env in group:  # the handling unit and its tier, from the payload
            assert (env.org_id, env.tier) == (env.payload.get("org_id"), env.payload.get("tier"))
            if env.causation_id is None:  # a person or the deadline loop: the case's thread
                assert env.correlation_id == envs[0].correlation_id
        for evt in decided:
            state = evolve_case(state, evt)
        commands += 1
    return commands


# -- notify --------------------------------------------------------------------------------------
def _directory(r: Replay) -> tuple[dict[str, StaffContact], dict[str, str]]:
    staff, units = {}, {}
    for env in r.routing[ORG_STREAM_ID]:
        p = env.payload
        if env.event_type == "routing.staff_registered":
            staff[p["staff_id"]] = StaffContact(
                staff_id=p["staff_id"],
                name_zh=p["name_zh"],
                unit_id=p["unit_id"],
                email=p["email"],
                phone=p["phone"],
            )
        elif env.event_type == "routing.org_unit_registered":
            units[p["unit_id"]] = p["name_zh"]
    return staff, units


def _case_info(intake: list[Envelope]) -> CaseInfo:
    submitted = payload_of(intake[0])
    assert isinstance(submitted, ApplicationSubmitted)
    accepted = next((e.payload for e in intake if e.event_type.endswith("accepted")), {})
    return CaseInfo(
        case_id=submitted.case_id,
        applicant_name=submitted.applicant.name,
        phone=submitted.applicant.phone,
        email=submitted.applicant.email,
        item_name_zh=submitted.item_name_zh,
        receipt_no=accepted.get("receipt_no"),
        accepting_center_id=submitted.accepting_center_id,
        material_names={m.code: m.name_zh for m in submitted.required_materials},
    )


def _replay_notify_case(
    r: Replay, case_id: str, staff: dict[str, StaffContact], units: dict[str, str]
) -> int:
    """Each outcome is of a delivery notify's planner makes of its source event; each
    delivery ends once; an SMS is deferred exactly when the planner defers it."""
    info = _case_info(r.intake[case_id])
    setup: ChannelSetup = r.config.channels
    ended: set[str] = set()
    checked = 0
    for env in r.notify.get(case_id, []):
        assert env.actor.id == "notify" and env.org_id is None and env.tier is None
        source = r.by_id[env.causation_id]  # type: ignore[index]
        assert env.correlation_id == source.correlation_id
        need = needs(source)
        assert need is not None, f"{source.event_type} notifies nobody"
        directory = Directory(
            cases={case_id: info},
            staff={s: staff[s] for s in need.staff_ids},
            units={u: units[u] for u in need.unit_ids if u in units},
        )
        planned = {
            str(i.delivery_id): i for i in plan(source, directory, setup, env.occurred_at).intents
        }
        p = env.payload
        intent = planned.get(p["delivery_id"])
        assert intent is not None, f"{env.event_type} of a delivery the planner does not make"
        assert (p["recipient_id"], p["channel"], p["template"], p["recipient_kind"]) == (
            intent.recipient_id,
            intent.channel,
            intent.template,
            intent.recipient_kind,
        )
        if env.event_type == "notify.delivery_deferred":
            assert intent.deferred  # what the consumer records when quiet hours hold an SMS
            expected = DeliveryDeferred(
                delivery_id=str(intent.delivery_id),
                case_id=case_id,
                source_event_id=str(source.event_id),
                source_event_type=source.event_type,
                recipient_id=intent.recipient_id,
                recipient_kind=intent.recipient_kind,
                channel=intent.channel,
                template=intent.template,
                deferred_until=intent.due_at,
                reason="quiet_hours",
                deferred_by="notify",
            )
            assert to_payload(expected) == p
        else:
            assert p["delivery_id"] not in ended, "a delivery ended twice"
            ended.add(p["delivery_id"])
            assert env.occurred_at >= intent.due_at  # never sent inside quiet hours
        checked += 1
    return checked


# -- the test ------------------------------------------------------------------------------------
def test_every_event_is_what_the_services_deciders_write() -> None:
    history = small_history()
    r = Replay(history)
    cases = [s for s in r.intake if s.startswith("case-")]
    assert len(cases) == history.cases
    intake_commands = sum(_replay_intake_case(r, r.intake[c]) for c in cases)
    routed = [s for s in r.routing if s.startswith("case-")]
    assert set(routed) <= set(cases)
    routing_commands = sum(_replay_routing_case(r, r.routing[c]) for c in routed)
    staff, units = _directory(r)
    outcomes = sum(_replay_notify_case(r, c, staff, units) for c in cases)
    # the replay covered every stored event of the history
    assert outcomes == sum(len(envs) for envs in r.notify.values())
    assert intake_commands > len(cases) * 3 and routing_commands > len(routed) * 2


def test_identities_are_the_real_ones() -> None:
    """ID numbers carry their GB 11643 check digit (intake's own check accepts them), and
    travel sealed per subject, never in the clear (issue 15)."""
    history = small_history()
    r = Replay(history)
    seen = 0
    for e in history.events:
        if e.event_type == "intake.application_submitted":
            p = e.envelope["payload"]
            assert is_subject_id(p["applicant"]["subject_id"])
            assert all(is_sealed(p["applicant"][f]) for f in ("name", "id_number", "phone"))
            plain = _opened(r, p["case_id"], p["applicant"])
            assert id_number_problem(plain["id_number"], e.occurred_at.date()) is None
            assert plain["id_number"] not in e.value().decode()
            seen += 1
    assert seen > 0


def test_a_history_that_drifts_from_the_rules_is_caught() -> None:
    """The two drifts of the generator this test replaced: level-1 escalation at close of
    business a working day after the deadline, and B taking over by a coin flip while A is
    at work. Either, in one case of a good history, fails the replay."""
    r = Replay(small_history())

    def escalated_late(envs: list[Envelope]) -> list[Envelope]:
        out = []
        for env in envs:
            if env.event_type == "routing.case_escalated" and env.payload["level"] == 1:
                due = date.fromisoformat(_last_due_date(envs))
                late = datetime.combine(add_working_days(due, 1), time(17, 30, 30), SHANGHAI)
                env = env.model_copy(update={"occurred_at": late.astimezone(UTC)})
            out.append(env)
        return sorted(out, key=lambda e: e.occurred_at)

    def b_by_coin(envs: list[Envelope]) -> list[Envelope]:
        out = []
        for env in envs:
            p = env.payload
            if env.event_type == "routing.case_assigned" and p["as_role"] == "A":
                p = {**p, "assigned_to": p["b_holder"], "as_role": "B"}
                p["a_unavailable_reason"] = "absent:leave"
                env = env.model_copy(update={"payload": p})
            out.append(env)
        return out

    escalated = next(
        c
        for c, envs in r.routing.items()
        if any(e.event_type == "routing.case_escalated" for e in envs)
    )
    assigned_a = next(
        c
        for c, envs in r.routing.items()
        if any(
            e.event_type == "routing.case_assigned" and e.payload["as_role"] == "A" for e in envs
        )
    )
    _replay_routing_case(r, r.routing[escalated])  # as generated: the rules' own
    _replay_routing_case(r, r.routing[assigned_a])
    with pytest.raises(AssertionError, match="CheckDeadlines"):
        _replay_routing_case(r, escalated_late(r.routing[escalated]))
    with pytest.raises(AssertionError, match="RouteAcceptedCase"):
        _replay_routing_case(r, b_by_coin(r.routing[assigned_a]))


def _last_due_date(envs: list[Envelope]) -> str:
    return next(
        e.payload["due_date"] for e in reversed(envs) if e.event_type == "routing.deadline_set"
    )
