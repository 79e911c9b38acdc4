"""Routing's events, as intake needs them (consumer of `INTAKE_TOPIC_ROUTING`).

Everything happens in the consumer's inbox transaction (`EventConsumer`), so each routing
event has exactly one effect even when Kafka delivers it again:

- org tree (`routing.org_unit_registered`, `_reparented`, `office_hours_set`) -> the
  `centers` projection; `routing.staff_registered` -> the `staff` directory;
- `routing.case_routed`, `case_assigned`, `case_reassigned`, `deadline_set`,
  `deadline_recomputed` -> `case_progress`;
- `routing.case_decided` -> `RecordDecisionReceived` on the case (the case can no longer be
  withdrawn; the result will be delivered);
- `routing.correction_requested` -> `RecordCorrectionRequested` (the resident supplies it
  at intake);
- `routing.result_returned` with `final` -> the result is at the accepting center: ready;
- `routing.joint_result_ready` -> `RecordJointResult` on the joint case (联办): its members'
  outcomes (`intake.joint_result_recorded`); with `final` every member is done and the
  result is ready at the accepting center;
- `routing.holiday_schedule_published` -> the year's schedule joins intake's calendar, and
  every accepted, undecided receipt counted over that year gets `RevisePromisedDate`
  (`intake.promised_date_revised` when its date or provisional years change), all in the
  inbox transaction, under the calendar lock (`intake.holiday_calendar`).

Commands that intake's decider refuses (a decision for a case withdrawn meanwhile, a case
this intake does not know) are logged and skipped: retrying cannot change the answer, and
dead-lettering routing's whole stream for one race would stall every case behind it. The
events intake appends name the system actor `intake` (it recorded them); the routing
officer is in the payload (`decided_by`, `requested_by`), and the envelope's causation id
points at routing's event.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg

from contracts.base import DomainEvent, payload_of
from contracts.joint import JointResultReady
from contracts.routing import (
    CaseAssigned,
    CaseDecided,
    CaseReassigned,
    CaseRouted,
    CorrectionRequested,
    DeadlineRecomputed,
    DeadlineSet,
    HolidaySchedulePublished,
    OfficeHoursSet,
    OrgUnitRegistered,
    OrgUnitReparented,
    ResultReturned,
    ServiceLinesSet,
    StaffRegistered,
)
from contracts.workdays import WorkingCalendar
from eventkit.envelope import Actor, Envelope

from .. import holiday_calendar
from ..domain.application_commands import (
    RecordCorrectionRequested,
    RecordDecisionReceived,
    RevisePromisedDate,
)
from ..domain.errors import DomainError
from ..domain.joint_result import RecordJointResult
from ..projections import routing_view
from ..runtime import CenterTiers, IntakeRuntime

log = logging.getLogger("intake.routing_consumer")

INTAKE_ACTOR = Actor(id="intake", role="system")

CONSUMER_NAME = "intake.routing"

E = TypeVar("E", bound=DomainEvent)


class RoutingEventsHandler:
    """`async (conn, envelope) -> None` for `EventConsumer`."""

    def __init__(self, core: IntakeRuntime) -> None:
        self.core = core
        self._by_type: dict[str, Callable[[asyncpg.Connection, Envelope], Awaitable[None]]] = {
            OrgUnitRegistered.event_type: self._org_unit_registered,
            OrgUnitReparented.event_type: self._org_unit_reparented,
            OfficeHoursSet.event_type: self._office_hours_set,
            ServiceLinesSet.event_type: self._service_lines_set,
            StaffRegistered.event_type: self._staff_registered,
            CaseRouted.event_type: self._case_routed,
            CaseAssigned.event_type: self._case_assigned,
            CaseReassigned.event_type: self._case_assigned,
            DeadlineSet.event_type: self._deadline_set,
            DeadlineRecomputed.event_type: self._deadline_set,
            CaseDecided.event_type: self._case_decided,
            CorrectionRequested.event_type: self._correction_requested,
            ResultReturned.event_type: self._result_returned,
            JointResultReady.event_type: self._joint_result_ready,
            HolidaySchedulePublished.event_type: self._holiday_schedule_published,
        }

    async def __call__(self, conn: asyncpg.Connection, env: Envelope) -> None:
        handler = self._by_type.get(env.event_type)
        if handler is not None:
            await handler(conn, env)

    # -- reference data and progress -----------------------------------------------------------
    async def _org_unit_registered(self, conn: asyncpg.Connection, env: Envelope) -> None:
        evt = _payload(env, OrgUnitRegistered)
        await routing_view.register_unit(conn, evt, env.occurred_at)

    async def _org_unit_reparented(self, conn: asyncpg.Connection, env: Envelope) -> None:
        evt = _payload(env, OrgUnitReparented)
        await routing_view.reparent_unit(conn, evt, env.occurred_at)

    async def _office_hours_set(self, conn: asyncpg.Connection, env: Envelope) -> None:
        evt = _payload(env, OfficeHoursSet)
        await routing_view.set_office_hours(conn, evt, env.occurred_at)

    async def _service_lines_set(self, conn: asyncpg.Connection, env: Envelope) -> None:
        evt = _payload(env, ServiceLinesSet)
        await routing_view.set_service_lines(conn, evt, env.occurred_at)

    async def _staff_registered(self, conn: asyncpg.Connection, env: Envelope) -> None:
        evt = _payload(env, StaffRegistered)
        await routing_view.register_staff(conn, evt, env.occurred_at)

    async def _case_routed(self, conn: asyncpg.Connection, env: Envelope) -> None:
        await routing_view.case_routed(conn, _payload(env, CaseRouted), env.occurred_at)

    async def _case_assigned(self, conn: asyncpg.Connection, env: Envelope) -> None:
        evt = payload_of(env)
        assert isinstance(evt, CaseAssigned | CaseReassigned)
        await routing_view.case_assigned(conn, evt, env.occurred_at)
        # 回避: is the officer the applicant, or of their household? (issue 15)
        staff, act = (
            (evt.assigned_to, "assigned_to")
            if isinstance(evt, CaseAssigned)
            else (evt.to_officer, "to_officer")
        )
        await self.core.check_conflict(
            conn,
            evt.case_id,
            staff,
            act,  # type: ignore[arg-type]
            correlation_id=env.correlation_id,
            causation_id=env.event_id,
        )

    async def _deadline_set(self, conn: asyncpg.Connection, env: Envelope) -> None:
        evt = payload_of(env)
        assert isinstance(evt, DeadlineSet | DeadlineRecomputed)
        await routing_view.deadline_set(conn, evt, env.occurred_at)

    async def _result_returned(self, conn: asyncpg.Connection, env: Envelope) -> None:
        await routing_view.result_returned(conn, _payload(env, ResultReturned), env.occurred_at)

    async def _joint_result_ready(self, conn: asyncpg.Connection, env: Envelope) -> None:
        evt = _payload(env, JointResultReady)
        command = RecordJointResult(
            joint_case_id=evt.joint_case_id,
            outcomes=evt.outcomes,
            final=evt.final,
            source_event_id=str(env.event_id),
            actor=INTAKE_ACTOR,
        )
        try:
            await self.core.handle_joint(
                conn,
                command,
                tiers=CenterTiers(),
                correlation_id=env.correlation_id,
                causation_id=env.event_id,
            )
        except DomainError as exc:
            log.warning(
                "routing's joint result not applicable to the joint case; skipped",
                extra={
                    "event_id": str(env.event_id),
                    "joint_case_id": evt.joint_case_id,
                    "field": exc.field,
                    "reason": exc.reason,
                },
            )

    async def _holiday_schedule_published(self, conn: asyncpg.Connection, env: Envelope) -> None:
        evt = _payload(env, HolidaySchedulePublished)
        await holiday_calendar.lock_for_publication(conn)
        await holiday_calendar.record(conn, evt, env.occurred_at)
        calendar = await holiday_calendar.calendar_in(conn)
        for case_id in await holiday_calendar.open_cases_counted_over(conn, evt.year):
            revise = RevisePromisedDate(
                case_id=case_id, actor=INTAKE_ACTOR, year=evt.year, notice_no=evt.notice_no
            )
            await self._command(conn, env, revise, calendar=calendar)

    # -- commands on the case ------------------------------------------------------------------
    async def _case_decided(self, conn: asyncpg.Connection, env: Envelope) -> None:
        evt = _payload(env, CaseDecided)
        await self._command(
            conn,
            env,
            RecordDecisionReceived(
                case_id=evt.case_id,
                actor=INTAKE_ACTOR,
                decision_id=evt.decision_id,
                decision=evt.decision,
                reason=evt.reason,
                decided_by=evt.decided_by,
                decided_at=env.occurred_at,
            ),
        )
        await self.core.check_conflict(
            conn,
            evt.case_id,
            evt.decided_by,
            "decided_by",
            correlation_id=env.correlation_id,
            causation_id=env.event_id,
        )

    async def _correction_requested(self, conn: asyncpg.Connection, env: Envelope) -> None:
        evt = _payload(env, CorrectionRequested)
        await self._command(
            conn,
            env,
            RecordCorrectionRequested(
                case_id=evt.case_id,
                actor=INTAKE_ACTOR,
                correction_id=evt.correction_id,
                requested_materials=evt.requested_materials,
                note=evt.note,
                requested_by=evt.requested_by,
            ),
        )

    async def _command(
        self,
        conn: asyncpg.Connection,
        env: Envelope,
        command: RecordDecisionReceived | RecordCorrectionRequested | RevisePromisedDate,
        calendar: WorkingCalendar | None = None,
    ) -> None:
        try:
            await self.core.handle_case(
                conn,
                command,
                actor=INTAKE_ACTOR,
                correlation_id=env.correlation_id,
                causation_id=env.event_id,
                calendar=calendar,
            )
        except DomainError as exc:
            # The decider refused before anything was written: the transaction is intact.
            log.warning(
                "routing event not applicable to the case; skipped",
                extra={
                    "event_id": str(env.event_id),
                    "event_type": env.event_type,
                    "case_id": command.case_id,
                    "field": exc.field,
                    "reason": exc.reason,
                },
            )


def _payload(env: Envelope, model: type[E]) -> E:
    evt = payload_of(env)
    if not isinstance(evt, model):
        raise TypeError(f"{env.event_type} decoded as {type(evt).__name__}")
    return evt
