"""One case, from the resident's first visit to the last message: a small discrete-event
simulation with its own clock.

The case holds what each service knows of it — intake's `ApplicationState`, routing's
`CaseState`, notify's directory entry — and a queue of timed actions. An action is either
something a person does (`people` chooses what and when: hand in, come back, decide, ask
for a correction, reassign, deliver, rate, answer) or something a service does on its own
(a consumer taking in another service's event a few seconds later, the deadline loop's tick,
notify planning and sending). Either way the command goes through the service's decider
(`edges`): what happens is the decider's answer, and a refusal is what the edge would
answer (nothing is written; the person's plan for the case ends there).

Cases do not interact, except through the org tree (absences), which `World` keeps as it
stood at every moment; so each case runs on its own, and the history is cut at the end of
the last day: cases still open then stay open.
"""

from __future__ import annotations

import heapq
import random
import uuid
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from contracts.base import DomainEvent
from contracts.intake import Applicant, ApplicationSubmitted, CatalogItemVersion, seal_applicant
from contracts.routing import (
    BadReviewFollowUpOpened,
    CaseAssigned,
    CaseDecided,
    CorrectionReceived,
    ResultReturned,
)
from contracts.workdays import OfficeHours
from eventkit.envelope import Actor, Envelope
from eventkit.personal_data import SUBJECT_PREFIX, SubjectKey
from intake.domain.application_commands import (
    ApplicationCommand,
    ArchiveCase,
    DeliverResult,
    EvaluateService,
    SubmitApplication,
    SupplementMaterials,
    SupplyCorrection,
    WithdrawApplication,
)
from notify.domain import DeliveryIntent
from routing.domain.case import (
    AnswerFollowUp,
    CaseCommandType,
    DecideCase,
    ReassignCase,
    RequestCorrection,
    ReturnResult,
)

from . import days, edges, people
from .history import INTAKE, NOTIFY, ROUTING
from .world import World

Action = Callable[..., None]

_STANDARD_HOURS = OfficeHours.standard()


def generated_key(seed: int, case_id: str) -> tuple[SubjectKey, Callable[[], bytes]]:
    """The subject, data key and nonces a generated case's applicant is sealed with: drawn
    from the seed and the case, so a history is the same bytes for a seed (and a test that
    replays it can open it); never stored anywhere."""
    r = random.Random(f"{seed}:{case_id}:sealing")
    key = SubjectKey(SUBJECT_PREFIX + r.randbytes(16).hex(), r.randbytes(32))
    return key, lambda: r.randbytes(12)


def sealed_as_generated(seed: int, evt: DomainEvent) -> DomainEvent:
    """`evt` as the generator stores it: a submission's applicant sealed (issue 15)."""
    if not (isinstance(evt, ApplicationSubmitted) and isinstance(evt.applicant, Applicant)):
        return evt
    key, nonce = generated_key(seed, evt.case_id)
    sealed = seal_applicant(key, evt.case_id, evt.applicant, nonce)
    return evt.model_copy(update={"applicant": sealed})


class CaseSim:
    """One case's story. `run()` plays it to the end or to the cut-off."""

    def __init__(
        self,
        world: World,
        store: edges.Store,
        items: people.Items,
        center: str,
        day: date,
        rng: random.Random,
    ) -> None:
        self.world, self.store, self.rng = world, store, rng
        self._idrng = random.Random(rng.getrandbits(64))
        self.case_id = f"case-{rng.getrandbits(128):032x}"
        self.item: CatalogItemVersion = items.pick(rng)
        self.center = center
        self.day = day
        self.queue: list[tuple[datetime, int, Action, tuple[Any, ...]]] = []
        self._seq = 0
        self.intake_state = edges.initial_intake_state()
        self.routing_state = edges.initial_case_state()
        self.contacts = edges.CaseContacts(self.case_id)
        self.routing_correlation: uuid.UUID | None = None
        self.staff: str | None = None
        self.resident = Actor(id=f"resident.{self.case_id[5:13]}", role="resident")
        self._check_token = 0
        self._last: dict[str, datetime] = {}
        self._fates: dict[uuid.UUID, str] = {}
        self.remaining_days = 0
        self.reassigned = False
        self.on_time: bool | None = None

    # -- plumbing ----------------------------------------------------------------------------
    def at(self, t: datetime, action: Action, *args: Any) -> None:
        self._seq += 1
        heapq.heappush(self.queue, (t, self._seq, action, args))

    def run(self) -> None:
        self.start()
        cutoff = self.store.cutoff
        while self.queue:
            t, _, action, args = heapq.heappop(self.queue)
            if t >= cutoff:
                break
            action(t, *args)

    def new_id(self) -> uuid.UUID:
        return uuid.UUID(int=self._idrng.getrandbits(128), version=4)

    def _after(self, consumer: str, t: datetime) -> datetime:
        """A consumer takes a case's events in order (one partition per case), seconds after
        they were stored."""
        t = t + timedelta(seconds=self.rng.randint(1, 6))
        last = self._last.get(consumer)
        if last is not None and t <= last:
            t = last + timedelta(seconds=1)
        self._last[consumer] = t
        return t

    # -- the services ------------------------------------------------------------------------
    def intake(
        self,
        command: ApplicationCommand,
        now: datetime,
        actor: Actor,
        *,
        correlation: uuid.UUID | None = None,
        causation: uuid.UUID | None = None,
    ) -> list[Envelope] | None:
        """intake's edge: decide, append, then what the others do with the events."""
        world = self.world
        hours = (
            world.hours(self.center)
            if isinstance(command, SubmitApplication | SupplementMaterials)
            else _STANDARD_HOURS
        )
        try:
            events = edges.decide_intake(
                command,
                self.intake_state,
                now,
                catalog=world.catalog,
                secret=world.config.verification_secret,
                hours=hours,
            )
        except edges.Refusal:
            self.store.count(f"refused:{type(command).__name__}")
            return None
        tier = world.seed.units[self.center].tier
        envelopes = self.store.append(
            INTAKE,
            self.case_id,
            [self._sealed(e) for e in events],
            ids=self.new_id,
            now=now,
            actor=actor,
            meta=lambda _e: (self.center, tier),
            correlation=correlation or self.new_id(),
            causation=causation,
        )
        for evt in events:
            self.intake_state = edges.evolve_intake(self.intake_state, evt)
        for env in envelopes:
            self.contacts.see(env)
        for env in envelopes:
            self.at(self._after("notify:intake", now), self._plan, env)
            routing_command = edges.routing_command_for(env)
            if routing_command is not None:
                self.at(self._after(ROUTING, now), self._routing_takes, env, routing_command)
        return envelopes

    def _sealed(self, evt: DomainEvent) -> DomainEvent:
        """The submission as intake stores it (issue 15): the applicant sealed per subject.
        Each generated applicant is a new subject whose data key is drawn here and never
        kept, so nobody can open the generated personal fields: the history is pseudonymous
        from the start (analytics reads only the non-personal facts). Deterministic for a
        seed (its own stream of randomness per case, the simulation's is untouched)."""
        return sealed_as_generated(self.world.config.seed, evt)

    def _routing_takes(self, now: datetime, env: Envelope, command: CaseCommandType) -> None:
        self.routing(command, now, correlation=env.correlation_id, causation=env.event_id)

    def routing(
        self,
        command: CaseCommandType,
        now: datetime,
        *,
        correlation: uuid.UUID | None = None,
        causation: uuid.UUID | None = None,
    ) -> list[Envelope] | None:
        """routing's edge: decide against the tree as it stands now, append, react."""
        org = self.world.org_at(now)
        try:
            events = edges.decide_routing(command, self.routing_state, now, org)
        except edges.Refusal:
            self.store.count(f"refused:{type(command).__name__}")
            return None
        if not events:
            return []
        envelopes = self.store.append(
            ROUTING,
            self.case_id,
            events,
            ids=self.new_id,
            now=now,
            actor=command.actor,
            meta=edges.routing_meta,
            # the consumed event's correlation, else the case's own (continue_correlation)
            correlation=correlation or self.routing_correlation or self.new_id(),
            causation=causation,
        )
        if self.routing_correlation is None:
            self.routing_correlation = envelopes[0].correlation_id
        for evt in events:
            self.routing_state = edges.evolve_case(self.routing_state, evt)
        for env, evt in zip(envelopes, events, strict=True):
            self.at(self._after("notify:routing", now), self._plan, env)
            intake_command = edges.intake_command_for(env)
            if intake_command is not None:
                self.at(self._after(INTAKE, now), self._intake_takes, env, intake_command)
            self._people_react(now, evt)
        self._schedule_check(now)
        return envelopes

    def _intake_takes(self, now: datetime, env: Envelope, command: ApplicationCommand) -> None:
        self.intake(
            command, now, edges.INTAKE_ACTOR, correlation=env.correlation_id, causation=env.event_id
        )

    def _schedule_check(self, now: datetime) -> None:
        """The deadline loop's next tick that has something to say for this case."""
        self._check_token += 1
        at = edges.next_deadline_check(self.routing_state, self.world.org_at(now), now)
        if at is not None:
            self.at(at + timedelta(seconds=self.rng.randint(0, 2)), self._check, self._check_token)

    def _check(self, now: datetime, token: int) -> None:
        if token == self._check_token:
            self.routing(edges.check_deadlines(self.case_id), now)

    # -- notify ------------------------------------------------------------------------------
    def _plan(self, now: datetime, env: Envelope) -> None:
        """notify's consumer: plan the event's messages; an SMS held by quiet hours is
        recorded as deferred at once; each is sent when due."""
        world = self.world
        intents = edges.plan_deliveries(
            env, self.contacts, world.contacts, world.unit_names, world.config.channels, now
        )
        held = [i for i in intents if i.deferred]
        if held:
            self._notify(now, env, [edges.deferred(env, i) for i in held])
        for intent in intents:
            due = max(intent.due_at, now)
            self.at(due + timedelta(seconds=self.rng.randint(0, 2)), self._send, env, intent, 1)

    def _send(self, now: datetime, env: Envelope, intent: DeliveryIntent, attempt: int) -> None:
        """The dispatcher's attempt; whether the channel takes the message is the world's
        answer (a mailbox that does not exist, a gateway that is down for a while)."""
        rng = self.rng
        if attempt == 1:
            r = rng.random()
            bounce = r < 0.004 and intent.channel == "email"
            self._fates[intent.delivery_id] = (
                "bounce" if bounce else ("outage" if r > 0.998 else "")
            )
        fate = self._fates.get(intent.delivery_id, "")
        if fate == "bounce":
            error = "SMTP 550: 5.1.1 <recipient>: mailbox unavailable"
            self._notify(now, env, [edges.failed(env, intent, attempt, now, error, True)])
            return
        if fate == "outage" or rng.random() < 0.01:
            error = (
                "SMS gateway unavailable"
                if intent.channel == "sms"
                else "SMTP: ConnectionRefusedError(111, 'Connection refused')"
            )
            if attempt >= edges.MAX_ATTEMPTS:
                self._notify(now, env, [edges.failed(env, intent, attempt, now, error, False)])
            else:
                retry = edges.retry_at(intent, attempt, now, rng.random())
                self.at(retry, self._send, env, intent, attempt + 1)
            return
        self._notify(now, env, [edges.delivered(env, intent, attempt, now)])

    def _notify(self, now: datetime, cause: Envelope, events: list[DomainEvent]) -> None:
        self.store.append(
            NOTIFY,
            self.case_id,
            events,
            ids=self.new_id,
            now=now,
            actor=edges.NOTIFY_ACTOR,
            meta=lambda _e: (None, None),
            correlation=cause.correlation_id,
            causation=cause.event_id,
        )

    # -- the resident at the front door ------------------------------------------------------
    def start(self) -> None:
        rng, world, item = self.rng, self.world, self.item
        org = world.seed
        unit = org.units[self.center]
        if unit.tier == "community":
            registered = self.center
        elif self.center == "ruian.dongshan" and rng.random() < 0.35:
            registered = rng.choice(people.ISLANDS)
        else:
            kids = [c for c in org.children(self.center) if org.units[c].tier == "community"]
            communities = sorted(u for u, x in org.units.items() if x.tier == "community")
            registered = rng.choice(kids or communities)
        roll = rng.random()
        if roll < 0.10 and item.case_type == "promised":
            channel, self.center = "online", registered
        elif roll < 0.25 and item.agency_allowed:
            channel = "agent"
        else:
            channel = "window"
        if channel == "online":
            actor = self.resident
            t = days.local(self.day, rng.randint(7 * 60, 23 * 60 - 1), rng.randrange(60))
        else:
            t = days.office_time(rng, world.hours(self.center), self.day)
            self.staff = rng.choice(world.agents(self.center, t))
            actor = world.staff_actor(self.staff, "community_agent")
        applicant = people.applicant(rng, org, self.case_id, registered, rng.random() < 0.15)
        fee, deposit = item.fee.amount_fen, item.deposit_fen
        command = SubmitApplication(
            case_id=self.case_id,
            actor=actor,
            item_code=item.code,
            applicant=Applicant(**applicant),
            materials_provided=people.handed_in(rng, item),
            accepting_center_id=self.center,
            accepting_staff_id=self.staff,
            channel=channel,
            fee_paid_fen=fee,
            deposit_paid_fen=deposit,
            payment_receipt_no=(
                f"{self.center.split('.')[-1][:2].upper()}-{self.day.year}-"
                f"{rng.randrange(10**6):06d}"
                if fee or deposit
                else None
            ),
        )
        self.at(t, self._submit, command)

    def _window(self, now: datetime) -> Actor:
        """Whoever is at the accepting center's window: the first-inquiry staff member when
        there was one and they are in, else a colleague who is."""
        present = self.world.agents(self.center, now)
        staff = self.staff if self.staff in present else self.rng.choice(present)
        return self.world.staff_actor(staff, "community_agent")

    def _submit(self, now: datetime, command: SubmitApplication) -> None:
        if self.intake(command, now, command.actor) is None:
            return
        if self.intake_state.status == "awaiting_materials":
            self._after_notice(now)
        elif self.intake_state.status == "accepted":
            self._after_acceptance(now)

    def _after_notice(self, now: datetime) -> None:
        """The one-time notice names every gap: most come back with them."""
        rng = self.rng
        r = rng.random()
        if r < 0.03:
            self.store.count("people:never_came_back")
            return
        hours = self.world.hours(self.center)
        if r < 0.05:
            t = days.office_time(rng, hours, days.after(days.local_day(now), 1))
            self.at(t, self._withdraw)
            return
        back = days.after(days.local_day(now), rng.choice((1, 1, 2, 3, 5)))
        self.at(days.office_time(rng, hours, back), self._supplement, rng.random() < 0.15)

    def _supplement(self, now: datetime, in_two_trips: bool) -> None:
        gaps = self.intake_state.outstanding
        brought = people.making_up(gaps[:1] if in_two_trips and len(gaps) > 1 else gaps)
        command = SupplementMaterials(
            case_id=self.case_id,
            actor=self._window(now),
            materials=tuple(brought),
            received_center_id=self.center,
        )
        if self.intake(command, now, command.actor) is None:
            return
        if self.intake_state.status == "awaiting_materials":  # the rest on another day
            back = days.after(days.local_day(now), 1)
            self.at(
                days.office_time(self.rng, self.world.hours(self.center), back),
                self._supplement,
                False,
            )
        elif self.intake_state.status == "accepted":
            self._after_acceptance(now)

    def _after_acceptance(self, now: datetime) -> None:
        if self.rng.random() < 0.02:  # changed their mind before the decision
            self.at(days.later(self.rng, now, 3600, 2 * 86400), self._withdraw)

    def _withdraw(self, now: datetime) -> None:
        command = WithdrawApplication(
            case_id=self.case_id,
            actor=self.resident,
            reason=self.rng.choice(people.WITHDRAW_REASONS),
            confirmation="resident",  # the resident withdraws online, as themself
        )
        self.intake(command, now, self.resident)

    # -- officers ----------------------------------------------------------------------------
    def _people_react(self, now: datetime, evt: DomainEvent) -> None:
        """What people do next because of what routing just decided."""
        match evt:
            case CaseAssigned():
                self._plan_work(now)
            case CorrectionReceived():
                self._resume_work(now)
            case CaseDecided():
                self.on_time = evt.on_time
                hours = self.world.hours(self.routing_state.handling_unit_id)
                t = days.office_time(
                    self.rng, hours, days.local_day(now), days.later(self.rng, now, 600, 3600)
                )
                self.at(t, self._return_result)
            case ResultReturned() if evt.final:
                self._result_ready(now)
            case BadReviewFollowUpOpened():
                answer_day = days.after(days.local_day(now), self.rng.choice((1, 1, 2, 2, 3, 5)))
                hours = self.world.hours(evt.center_id)
                t = days.office_time(self.rng, hours, answer_day)
                self.at(t, self._answer, evt.followup_id, evt.assigned_to)

    def _handling_hours(self) -> OfficeHours:
        return self.world.hours(self.routing_state.handling_unit_id)

    def _plan_work(self, now: datetime) -> None:
        """The case reached its office: when will the officer act on it?"""
        rng, st = self.rng, self.routing_state
        hours = self._handling_hours()
        # the agent carries the papers to another center (全程代理): some hours on the road
        arrives = now if len(st.route) <= 1 else days.later(rng, now, 1800, 4 * 3600)
        if st.case_type == "same_day":  # 即办件: done on the spot, or as soon as it arrives
            if len(st.route) > 1:
                now = days.later(rng, now, 600, 5400)  # sent over: minutes, not a trip
            self.at(days.soon(rng, hours, now, 120, 1500), self._decide, False)
            return
        assert st.accepted_at is not None
        limit = st.promised_limit_days
        used = people.working_days_to_decide(
            rng, limit, self.world.pace.get(st.handling_unit_id, 1)
        )
        accepted_on = days.local_day(st.accepted_at)
        if limit >= 3 and rng.random() < 0.08:
            k = rng.randint(1, max(1, min(used, limit) - 1)) if used > 1 else 1
            self.remaining_days = max(0, used - k)
            t = days.office_time(rng, hours, days.after(accepted_on, k), arrives)
            self.at(t, self._request_correction)
            return
        t = days.office_time(rng, hours, days.after(accepted_on, used), arrives)
        self.at(t, self._decide, False)

    def _resume_work(self, now: datetime) -> None:
        day = days.after(days.local_day(now), self.remaining_days)
        self.at(days.office_time(self.rng, self._handling_hours(), day, now), self._decide, False)

    def _officer_away(self, now: datetime, officer: str, then: Action, *args: Any) -> bool:
        """An officer absent when the work is due: the head reassigns the case (once), or
        it waits for the officer's return. True when the action was put off."""
        absence = self.world.org_at(now).absence_at(officer, now)
        if absence is None:
            return False
        rng = self.rng
        if not self.reassigned and rng.random() < 0.7 and self._reassign(now, absence.kind):
            t = days.office_time(rng, self._handling_hours(), days.local_day(now), now)
        else:
            back = days.after(days.local_day(absence.ends_at), 1)
            t = days.office_time(rng, self._handling_hours(), back)
        self.at(t, then, *args)
        return True

    def _reassign(self, now: datetime, why: str) -> bool:
        st, org = self.routing_state, self.world.org_at(now)
        found = org.nearest_head(st.handling_unit_id)
        if found is None or st.assigned_to is None:
            return False
        head = found[1]
        post = org.posts.get(st.post_id) if st.post_id else None
        candidates = [post.b_holder, post.a_holder] if post else []
        candidates.append(head)
        to = next(
            (
                c
                for c in candidates
                if c != st.assigned_to
                and org.staff[c].unit_id == st.handling_unit_id
                and org.absence_at(c, now) is None
            ),
            None,
        )
        if to is None or org.absence_at(head, now) is not None:
            return False
        command = ReassignCase(
            case_id=self.case_id,
            actor=self.world.staff_actor(head, "center_head"),
            to_officer=to,
            reason=people.REASSIGN_REASON.get(
                why.removeprefix("absent:"), "原承办人不在岗,转岗办理"
            ),
        )
        self.reassigned = True
        return bool(self.routing(command, now))

    def _request_correction(self, now: datetime) -> None:
        rng, st = self.rng, self.routing_state
        if st.status != "open" or st.assigned_to is None:
            return
        if self._officer_away(now, st.assigned_to, self._request_correction):
            return
        codes = [m.code for m in self.item.materials]
        asked = rng.sample(codes, min(len(codes), rng.choice((1, 1, 2))))
        command = RequestCorrection(
            case_id=self.case_id,
            actor=self.world.staff_actor(st.assigned_to),
            requested_materials=tuple(asked),
            note=rng.choice(people.CORRECTION_NOTES),
        )
        if not self.routing(command, now):
            return
        if rng.random() < 0.9:
            back = days.after(days.local_day(now), rng.choice((1, 1, 2, 3, 4)))
            t = days.office_time(rng, self.world.hours(self.center), back)
            self.at(t, self._supply_correction, tuple(asked))
        else:  # never supplied: the officer refuses once the promise has run out
            day = days.after(days.local_day(now), self.remaining_days + 5)
            self.at(days.office_time(rng, self._handling_hours(), day), self._decide, True)

    def _supply_correction(self, now: datetime, asked: tuple[str, ...]) -> None:
        pending = self.intake_state.pending_correction
        if pending is None:
            return
        command = SupplyCorrection(
            case_id=self.case_id,
            actor=self._window(now),
            correction_id=pending.correction_id,
            materials=people.corrected(asked, self.item.materials),
            received_center_id=self.center,
        )
        self.intake(command, now, command.actor)

    def _decide(self, now: datetime, not_supplied: bool) -> None:
        rng, st = self.rng, self.routing_state
        if st.status not in ("open", "correction_pending") or st.assigned_to is None:
            return
        decider = st.assigned_to
        window = (
            st.case_type == "same_day"
            and st.handling_unit_id == self.center
            and self.staff is not None
            and self.world.seed.staff[self.staff].unit_id == st.handling_unit_id
        )
        if window:  # 即办件 at the community window: the staff member who took it in
            decider = self.staff  # type: ignore[assignment]
        elif self._officer_away(now, decider, self._decide, not_supplied):
            return
        refuse = not_supplied or rng.random() < 0.06
        reason = (
            (people.NOT_SUPPLIED_REASON if not_supplied else rng.choice(people.REFUSE_REASONS))
            if refuse
            else None
        )
        command = DecideCase(
            case_id=self.case_id,
            actor=self.world.staff_actor(decider),
            decision="refuse" if refuse else "approve",
            reason=reason,
        )
        self.routing(command, now)

    def _return_result(self, now: datetime) -> None:
        st = self.routing_state
        if st.decided_by is None:
            return
        command = ReturnResult(case_id=self.case_id, actor=self.world.staff_actor(st.decided_by))
        self.routing(command, now)

    def _answer(self, now: datetime, followup_id: str, head: str) -> None:
        command = AnswerFollowUp(
            case_id=self.case_id,
            actor=self.world.staff_actor(head, "center_head"),
            followup_id=followup_id,
            answer=people.FOLLOWUP_ANSWER,
        )
        self.routing(command, now)

    # -- the result, back at the front door --------------------------------------------------
    def _result_ready(self, now: datetime) -> None:
        rng = self.rng
        pick = rng.random()
        method = "picked_up" if pick < 0.7 else ("electronic" if pick < 0.9 else "mailed")
        same_day = self.item.case_type == "same_day"
        wait = 0 if method != "picked_up" or same_day else rng.choice((0, 1, 1, 2, 3))
        hours = self.world.hours(self.center)
        day = days.after(days.local_day(now), wait)
        t = days.office_time(rng, hours, day, days.later(rng, now, 300, 1800))
        self.at(t, self._deliver, method)

    def _deliver(self, now: datetime, method: str) -> None:
        rng = self.rng
        window = self._window(now)
        command = DeliverResult(
            case_id=self.case_id,
            actor=window,
            method=method,  # type: ignore[arg-type]
            center_id=self.center if method == "picked_up" else None,
            tracking_no=f"EMS{rng.randrange(10**10):010d}" if method == "mailed" else None,
        )
        if self.intake(command, now, window) is None:
            return
        archive = ArchiveCase(
            case_id=self.case_id,
            actor=window,
            archive_no=f"GD{days.local_day(now):%Y%m%d}{self.case_id[5:11].upper()}",
        )
        self.at(days.later(rng, now, 600, 3600), self._archive, archive)
        if rng.random() < 0.65:
            self.at(days.later(rng, now, 1200, 2 * 86400), self._evaluate)

    def _archive(self, now: datetime, command: ArchiveCase) -> None:
        self.intake(command, now, command.actor)

    def _evaluate(self, now: datetime) -> None:
        st = self.routing_state
        late = st.overdue or self.on_time is False
        pace = self.world.pace.get(st.handling_unit_id or self.center, 1.0)
        score, dims, comment = people.rating(self.rng, pace, late)
        command = EvaluateService(
            case_id=self.case_id, actor=self.resident, score=score, dimensions=dims, comment=comment
        )
        self.intake(command, now, self.resident)
