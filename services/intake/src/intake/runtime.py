"""The edge's one way to run a command: load, decide, append, project, in the caller's
transaction.

HTTP routes and the routing consumer both come through here, always with a connection
whose transaction they own (the idempotency transaction of a POST, the inbox transaction of
a consumed event), so the events, the read model and the Idempotency-Key record or inbox
claim commit together or not at all.

Envelopes of application events carry `org_id` = the accepting center (首问责任: that
center stays accountable wherever the case goes) and `tier` = its tier, so per-center
statistics downstream need no join.

Named `<Service>Runtime` in `<service>/runtime.py` alike in all four services: it is
eventkit's `ServiceRuntime` (pool, broker, event store: what every service has, held as
`.runtime`) plus what this service adds. Not "context": that is a decider's input
(`IntakeContext`, `CaseContext`).
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import asyncpg
import orjson

from contracts.base import payload_of, to_payload
from contracts.intake import (
    Applicant,
    ApplicationSubmitted,
    ConflictRole,
    SameIdentity,
    seal_applicant,
)
from contracts.joint import JointApplicationSubmitted
from contracts.workdays import OfficeHours, WorkingCalendar
from eventkit.aggregate import CommandRunner, Outcome
from eventkit.clock import Clock
from eventkit.envelope import Actor, Envelope, Producer
from eventkit.idempotency import IdempotencyStore
from eventkit.personal_data import SubjectKey
from eventkit.service import ServiceRuntime
from eventkit.store import PostgresEventStore

from .catalog_view import CatalogView
from .documents.store import DocumentStore
from .domain import application, catalog, conflict, erasure, legal_hold
from .domain.application import ApplicationState, IntakeContext, decider_for
from .domain.application_commands import (
    ApplicationCommand,
    RevisePromisedDate,
    SubmitApplication,
    SupplementMaterials,
)
from .domain.catalog import CATALOG_STREAM, Catalog, CatalogCommand
from .domain.erasure import ErasePersonalData
from .domain.joint_result import (
    DeliverJointResult,
    RecordJointResult,
    decide_deliver_joint,
    decide_record_joint_result,
)
from .domain.joint_submission import (
    JointState,
    SubmitJointApplication,
    decide_submit_joint,
    evolve_joint,
)
from .domain.joint_supplement import SupplementJointMaterials, decide_supplement_joint
from .holiday_calendar import CalendarView
from .personal_data import ApplicantKeys, SubjectKeys
from .projections import applications, joint_cases, routing_view
from .settings import Settings


@dataclass
class Erased:
    envelopes: list[Envelope]
    blobs: list[str]
    """The SHA-256 of the documents whose bytes are deleted once the erasure committed."""


@dataclass
class CaseOutcome:
    state: ApplicationState
    version: int
    envelopes: list[Envelope]
    """The appended envelopes, with their stream versions."""

    @property
    def event_types(self) -> list[str]:
        return [e.event_type for e in self.envelopes]


class CenterTiers:
    """The tiers of the centers one request or command names, each read at most once (the
    edge checks the ids it is given, the envelopes carry the accepting center's tier). Make
    one per transaction attempt: it holds what that transaction read."""

    def __init__(self) -> None:
        self._tiers: dict[str, str | None] = {}

    async def tier(self, conn: asyncpg.Connection, unit_id: str) -> str | None:
        """The center's tier; None when the org tree does not list it."""
        if unit_id not in self._tiers:
            self._tiers[unit_id] = await conn.fetchval(
                "SELECT tier FROM centers WHERE unit_id = $1", unit_id
            )
        return self._tiers[unit_id]

    async def prefetch(self, conn: asyncpg.Connection, unit_ids: Iterable[str]) -> None:
        """Read several centers in one query."""
        missing = [u for u in dict.fromkeys(unit_ids) if u not in self._tiers]
        if len(missing) < 2:
            for u in missing:
                await self.tier(conn, u)
            return
        rows = await conn.fetch(
            "SELECT unit_id, tier FROM centers WHERE unit_id = ANY($1::text[])", missing
        )
        found = {r["unit_id"]: r["tier"] for r in rows}
        for u in missing:
            self._tiers[u] = found.get(u)

    async def accepting_center(
        self, conn: asyncpg.Connection, case_id: str
    ) -> tuple[str | None, str | None]:
        """(accepting center, its tier) of a case, in one query."""
        row = await conn.fetchrow(
            "SELECT a.accepting_center_id, c.tier FROM applications a"
            " LEFT JOIN centers c ON c.unit_id = a.accepting_center_id WHERE a.case_id = $1",
            case_id,
        )
        if row is None or row["accepting_center_id"] is None:
            return None, None
        center: str = row["accepting_center_id"]
        self._tiers.setdefault(center, row["tier"])
        return center, self._tiers[center]


def sealed_payload(subject: SubjectKey | None, evt: Any) -> dict[str, Any]:
    """An event's payload with the applicant sealed: no plain applicant is ever stored or
    published (a submission without its subject's key is a bug, refused loudly)."""
    if isinstance(evt, ApplicationSubmitted) and isinstance(evt.applicant, Applicant):
        if subject is None:
            raise RuntimeError("an application's applicant must be sealed before it is stored")
        evt = evt.model_copy(
            update={"applicant": seal_applicant(subject, evt.case_id, evt.applicant)}
        )
    if isinstance(evt, JointApplicationSubmitted) and isinstance(evt.applicant, Applicant):
        if subject is None:
            raise RuntimeError("a joint application's applicant must be sealed before it is stored")
        evt = evt.model_copy(
            update={"applicant": seal_applicant(subject, evt.joint_case_id, evt.applicant)}
        )
    return to_payload(evt)


def _versioned(outcome: Outcome[Any]) -> list[Envelope]:
    first = outcome.version - len(outcome.envelopes) + 1
    return [
        e.model_copy(update={"stream_version": first + i}) for i, e in enumerate(outcome.envelopes)
    ]


@dataclass
class IntakeRuntime:
    settings: Settings
    runtime: ServiceRuntime
    clock: Clock
    secret: bytes
    catalog: CatalogView
    idempotency: IdempotencyStore
    producer: Producer
    calendar: CalendarView
    documents: DocumentStore
    """Where document bytes live (`documents.store`): intake's PostgreSQL by default."""
    subjects: SubjectKeys
    """Residents' subjects and their wrapped data keys (`personal_data`, issue 15)."""

    @property
    def applicant_keys(self) -> ApplicantKeys:
        """What matches a resident's token to their cases (`http.access.resident_owns`)."""
        return ApplicantKeys(self.secret, self.subjects.lookup_key)

    @property
    def store(self) -> PostgresEventStore:
        assert self.runtime.store is not None, "the runtime is not started"
        return self.runtime.store

    @property
    def pool(self) -> asyncpg.Pool:
        assert self.runtime.pool is not None, "the runtime is not started"
        return self.runtime.pool

    def _runner(
        self,
        decide: Callable[..., Any],
        evolve: Callable[..., Any],
        initial: Callable[[], Any],
        *,
        meta: Callable[[Any], tuple[str | None, str | None]] = lambda _evt: (None, None),
        to_payload: Callable[[Any], dict[str, Any]] = to_payload,
    ) -> CommandRunner[Any, Any]:
        """One aggregate's command runner over intake's store: every aggregate's is built the
        same way (`meta`: the center and tier its events are stamped with)."""
        return CommandRunner(
            store=self.store,
            decide=decide,
            evolve=evolve,
            initial=initial,
            from_envelope=payload_of,
            to_payload=to_payload,
            producer=self.producer,
            meta=meta,
        )

    # -- application cases -------------------------------------------------------------------
    def _case_runner(
        self,
        cat: Catalog,
        org: tuple[str | None, str | None],
        hours: OfficeHours | None = None,
        calendar: WorkingCalendar | None = None,
        lines: tuple[dict[str, Any], ...] = (),
        subject: SubjectKey | None = None,
    ) -> CommandRunner[ApplicationState, ApplicationCommand]:
        ctx = IntakeContext(
            catalog=cat,
            verification_secret=self.secret,
            office_hours=hours or OfficeHours.standard(),
            calendar=calendar or self.calendar.folded,
            service_lines=lines,
        )
        return self._runner(
            decider_for(ctx),
            application.evolve,
            application.initial_state,
            meta=lambda _evt: org,
            to_payload=functools.partial(sealed_payload, subject),
        )

    async def handle_case(
        self,
        conn: asyncpg.Connection,
        command: ApplicationCommand,
        *,
        actor: Actor,
        correlation_id: uuid.UUID | None = None,
        causation_id: uuid.UUID | None = None,
        tiers: CenterTiers | None = None,
        accepting_center_id: str | None = None,
        calendar: WorkingCalendar | None = None,
    ) -> CaseOutcome:
        """Decide `command` on its case inside `conn`'s transaction and project the result.
        Domain refusals propagate unchanged (nothing was written). A caller that has read
        centers (`tiers`) or the case's row (`accepting_center_id`) in this transaction
        passes them, so they are not read again; one that holds the calendar to count by
        (the consumer recording a publication) passes it."""
        # Only a submission is judged against the catalog (the item in force): its catalog
        # catch-up and its stream are read in one query. The other commands are decided on
        # the case's own events and skip the catch-up.
        tiers = tiers or CenterTiers()
        center_id: str | None
        stream: list[Envelope] | None = None
        if isinstance(command, SubmitApplication):
            read = await self.store.read_streams(
                {CATALOG_STREAM: self.catalog.version, command.case_id: 0}, conn=conn
            )
            cat = self.catalog.fold(read[CATALOG_STREAM])
            stream = read[command.case_id]
            center_id = command.accepting_center_id
        else:
            cat = self.catalog.folded
            if accepting_center_id is not None:
                center_id = accepting_center_id
            else:
                center_id, _ = await tiers.accepting_center(conn, command.case_id)
        tier = await tiers.tier(conn, center_id) if center_id else None
        # A submission or a supplement may accept the case: its promised date needs the
        # accepting center's hours and the calendar (the promise rule,
        # contracts.workdays.promised_deadline), read under the calendar lock
        # (intake.holiday_calendar); a revision needs the hours, its caller the calendar.
        hours = None
        lines: tuple[dict[str, Any], ...] = ()  # a submission is put on its line (服务条线)
        if center_id and isinstance(command, SubmitApplication):
            lines = await routing_view.service_lines(conn, center_id)
        if center_id and isinstance(command, SubmitApplication | SupplementMaterials):
            hours, held = await self.calendar.acceptance_inputs(conn, center_id)
            calendar = calendar or held
        elif center_id and isinstance(command, RevisePromisedDate):
            hours = await routing_view.office_hours(conn, center_id)
        # The applicant's subject and key: the submission's personal fields are sealed with
        # it before the event is stored (`sealed_payload`); it never leaves this call.
        subject = None
        if isinstance(command, SubmitApplication):
            subject = await self.subjects.subject_for(conn, command.applicant.id_number)
        runner = self._case_runner(cat, (center_id, tier), hours, calendar, lines, subject)
        outcome = await runner.handle(
            command.case_id,
            command,
            actor=actor,
            now=self.clock(),
            correlation_id=correlation_id,
            causation_id=causation_id,
            conn=conn,
            stream=stream,
        )
        envelopes = _versioned(outcome)
        await applications.apply(conn, envelopes, self.secret)
        if isinstance(command, SubmitApplication) and envelopes:
            # 回避: is the accepting staff member the applicant, or of their household?
            found = await self.check_conflict(
                conn,
                command.case_id,
                command.accepting_staff_id,
                "accepting_staff_id",
                correlation_id=envelopes[0].correlation_id,
                causation_id=envelopes[0].event_id,
            )
            envelopes = [*envelopes, *found]
        return CaseOutcome(outcome.state, outcome.version, envelopes)

    async def load_case(self, conn: asyncpg.Connection, case_id: str) -> list[Envelope]:
        """The case's whole stream (its trail), in order."""
        return await self.store.read_stream(case_id, conn=conn)

    # -- joint cases (联办) ----------------------------------------------------------------------
    async def handle_joint(
        self,
        conn: asyncpg.Connection,
        command: (
            SubmitJointApplication
            | SupplementJointMaterials
            | RecordJointResult
            | DeliverJointResult
        ),
        *,
        tiers: CenterTiers,
        correlation_id: uuid.UUID | None = None,
        causation_id: uuid.UUID | None = None,
    ) -> Outcome[JointState]:
        """Decide a joint intake, or the supplement answering its notice, on its stream
        (`joint-<hex>`) inside `conn`'s transaction: judged by the catalog (its bundles and
        items), promised by the accepting center's hours and the calendar, like a single
        acceptance; then kept in the `joint_cases` projection."""
        read = await self.store.read_streams(
            {CATALOG_STREAM: self.catalog.version, command.joint_case_id: 0}, conn=conn
        )
        cat = self.catalog.fold(read[CATALOG_STREAM])
        stream = read[command.joint_case_id]
        if isinstance(command, SubmitJointApplication):
            center_id = command.accepting_center_id
        else:
            held = JointState()
            for env in stream:
                held = evolve_joint(held, payload_of(env))
            center_id = held.submitted.accepting_center_id if held.submitted else ""
        tier = await tiers.tier(conn, center_id) if center_id else None
        hours, calendar = (
            await self.calendar.acceptance_inputs(conn, center_id) if center_id else (None, None)
        )
        ctx = IntakeContext(
            catalog=cat,
            verification_secret=self.secret,
            office_hours=hours or OfficeHours.standard(),
            calendar=calendar or self.calendar.folded,
        )

        def decide(cmd: Any, state: JointState, now: Any) -> list[Any]:
            if isinstance(cmd, SubmitJointApplication):
                return decide_submit_joint(cmd, state, now, ctx)
            if isinstance(cmd, RecordJointResult):
                return decide_record_joint_result(cmd, state, now)
            if isinstance(cmd, DeliverJointResult):
                return decide_deliver_joint(cmd, state, now)
            return decide_supplement_joint(cmd, state, now, ctx)

        org = (center_id or None, tier)
        # the joint applicant is sealed with their subject's key, as a single case's is
        subject = None
        if isinstance(command, SubmitJointApplication):
            subject = await self.subjects.subject_for(conn, command.applicant.id_number)
        runner: CommandRunner[JointState, Any] = self._runner(
            decide,
            evolve_joint,
            JointState,
            meta=lambda _evt: org,
            to_payload=functools.partial(sealed_payload, subject),
        )
        outcome = await runner.handle(
            command.joint_case_id,
            command,
            actor=command.actor,
            now=self.clock(),
            correlation_id=correlation_id,
            causation_id=causation_id,
            conn=conn,
            stream=stream,
        )
        await joint_cases.apply(conn, outcome.envelopes, self.secret)
        if isinstance(command, SubmitJointApplication) and outcome.envelopes:
            # 回避: is the accepting staff member the applicant, or of their household?
            found = await self.check_conflict(
                conn,
                command.joint_case_id,
                command.accepting_staff_id,
                "accepting_staff_id",
                correlation_id=outcome.envelopes[0].correlation_id,
                causation_id=outcome.envelopes[0].event_id,
            )
            return Outcome(outcome.state, outcome.version, [*outcome.envelopes, *found])
        return outcome

    # -- erasure (PIPL) ------------------------------------------------------------------------
    async def erase_subject(self, conn: asyncpg.Connection, command: ErasePersonalData) -> Erased:
        """Decide the erasure on its stream, then, in the same transaction, destroy the
        subject's key and scrub intake's projection (the applicant and the lookup hash) and
        the documents' file names. Returns what to do after commit: the documents' bytes
        to delete (a store outside the transaction, S3 perhaps)."""
        runner: CommandRunner[erasure.ErasureState, ErasePersonalData] = self._runner(
            erasure.decide,
            erasure.evolve,
            erasure.initial_state,
        )
        now = self.clock()
        outcome = await runner.handle(
            command.erasure_id, command, actor=command.actor, now=now, conn=conn
        )
        await self.subjects.destroy(conn, command.subject_id, now)
        cases = list(command.case_ids)
        await conn.execute(
            "UPDATE applications SET applicant = jsonb_build_object('erased', true,"
            " 'subject_id', $2::text), applicant_key = NULL WHERE case_id = ANY($1::text[])",
            cases,
            command.subject_id,
        )
        await conn.execute(  # joint cases (联办) are among `case_ids` by their joint id
            "UPDATE joint_cases SET applicant = jsonb_build_object('erased', true,"
            " 'subject_id', $2::text), applicant_key = NULL"
            " WHERE joint_case_id = ANY($1::text[])",
            cases,
            command.subject_id,
        )
        blobs = await conn.fetch(
            "UPDATE case_documents SET file_name = '(erased)' WHERE case_id = ANY($1::text[])"
            " RETURNING sha256",
            cases,
        )
        return Erased(_versioned(outcome), sorted({r["sha256"] for r in blobs}))

    # -- conflict of interest (回避, PIPL) ---------------------------------------------------------
    async def check_conflict(
        self,
        conn: asyncpg.Connection,
        case_id: str,
        staff_id: str | None,
        role_field: ConflictRole,
        *,
        correlation_id: uuid.UUID | None = None,
        causation_id: uuid.UUID | None = None,
    ) -> list[Envelope]:
        """Is `staff_id`, acting on the case as `role_field`, its applicant or of the
        applicant's household? Opens the applicant with the subject's key, compares keyed
        hashes with the staff member's registered ones (`staff_identities`) and records
        `intake.conflict_of_interest_found` on the case stream (no identity in it). Nothing
        when the staff member has no registered identity or the applicant was erased."""
        if not staff_id:
            return []
        ident = await conn.fetchrow(
            "SELECT id_hash, household_hash FROM staff_identities WHERE staff_id = $1", staff_id
        )
        if ident is None:
            return []
        found = await self._applicant_of(conn, case_id)
        if found is None:
            return []
        sealed_for, stored, center = found
        applicant = await self.subjects.opened_applicant(conn, sealed_for, stored)
        if applicant is None:  # erased
            return []
        theirs: dict[SameIdentity, str] = {}
        for kind, value in (
            ("id_number", applicant.id_number),
            ("household_no", applicant.household_no),
        ):
            if value:
                theirs[kind] = self.subjects.identity_hash(kind, value)  # type: ignore[index]
        staff: dict[SameIdentity, str] = {}
        if ident["id_hash"]:
            staff["id_number"] = ident["id_hash"]
        if ident["household_hash"]:
            staff["household_no"] = ident["household_hash"]
        tier = await CenterTiers().tier(conn, center) if center else None
        runner: CommandRunner[conflict.ConflictState, conflict.CheckConflict] = self._runner(
            conflict.decide,
            conflict.evolve,
            conflict.initial_state,
            meta=lambda _evt: (center, tier),
        )
        outcome = await runner.handle(
            case_id,
            conflict.CheckConflict(case_id, staff_id, role_field, theirs, staff),
            actor=Actor(id="intake", role="system"),
            now=self.clock(),
            correlation_id=correlation_id,
            causation_id=causation_id,
            conn=conn,
        )
        return _versioned(outcome)

    @staticmethod
    async def _applicant_of(
        conn: asyncpg.Connection, case_id: str
    ) -> tuple[str, Any, str | None] | None:
        """(the id its applicant is sealed under, the stored applicant, the accepting center)
        of a case: its own application, or for a joint case (联办) and each of its members the
        joint application's; None for a case intake did not accept."""
        row = await conn.fetchrow(
            "SELECT applicant, accepting_center_id FROM applications WHERE case_id = $1", case_id
        )
        if row is not None:
            return case_id, row["applicant"], row["accepting_center_id"]
        row = await conn.fetchrow(
            "SELECT joint_case_id, applicant, accepting_center_id FROM joint_cases"
            " WHERE joint_case_id = $1 OR members @> $2::jsonb",
            case_id,
            orjson.dumps([{"case_id": case_id}]).decode(),
        )
        if row is None or row["applicant"] is None:
            return None
        return row["joint_case_id"], row["applicant"], row["accepting_center_id"]

    # -- legal holds (PIPL) ----------------------------------------------------------------------
    async def handle_legal_hold(
        self,
        conn: asyncpg.Connection,
        command: legal_hold.PlaceLegalHold | legal_hold.LiftLegalHold,
    ) -> list[Envelope]:
        """Decide placing or lifting a case's hold on its stream, then keep `legal_holds`
        (which the erasure reads) in the same transaction."""
        runner: CommandRunner[legal_hold.HoldState, Any] = self._runner(
            legal_hold.decide,
            legal_hold.evolve,
            legal_hold.initial_state,
        )
        now = self.clock()
        outcome = await runner.handle(
            legal_hold.hold_stream(command.case_id),
            command,
            actor=command.actor,
            now=now,
            conn=conn,
        )
        if isinstance(command, legal_hold.PlaceLegalHold):
            await conn.execute(
                "INSERT INTO legal_holds (case_id, held_by, reason, held_at)"
                " VALUES ($1, $2, $3, $4) ON CONFLICT (case_id) DO UPDATE SET"
                " held_by = EXCLUDED.held_by, reason = EXCLUDED.reason,"
                " held_at = EXCLUDED.held_at",
                command.case_id,
                command.actor.id,
                command.reason.strip(),
                now,
            )
        else:
            await conn.execute("DELETE FROM legal_holds WHERE case_id = $1", command.case_id)
        return _versioned(outcome)

    # -- the catalog ---------------------------------------------------------------------------
    def catalog_runner(self) -> CommandRunner[Catalog, CatalogCommand]:
        return self._runner(
            catalog.decide,
            catalog.evolve,
            catalog.initial_state,
        )

    async def handle_catalog(
        self, conn: asyncpg.Connection, command: CatalogCommand, *, actor: Actor
    ) -> list[Envelope]:
        outcome = await self.catalog_runner().handle(
            CATALOG_STREAM, command, actor=actor, now=self.clock(), conn=conn
        )
        return _versioned(outcome)
