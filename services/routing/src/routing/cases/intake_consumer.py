"""Intake's events as routing reads them: the catalog projection and the case commands.

One `EventConsumer` on intake's topic; each message is handled inside the consumer's inbox
transaction, so a redelivered event has no second effect and the case events, the read
models and the inbox claim commit together.

- `intake.catalog_item_published` / `_retired` -> `catalog_items` (names in the queue; a
  warning when an acceptance disagrees with the version it names);
- `intake.application_accepted` -> `RouteAcceptedCase` (the acceptance is self-contained:
  tier, category, case type and promise travel with it, so routing never waits for the
  catalog). An acceptance that cannot be routed (a center or office missing from the tree)
  is kept in `unrouted_cases` with the reason, not retried in a loop and not lost;
- `intake.joint_application_accepted` (联办) -> one `RouteAcceptedCase` per member
  (`domain.joint_case.member_routes`): each member is an ordinary case, routed by the same
  rule to the office holding its own item's authority, whatever its tier; a member that
  cannot be routed is kept in `unrouted_cases` like a single acceptance;
- `intake.application_withdrawn` -> `RecordWithdrawal`;
- `intake.correction_supplied` -> `RecordCorrectionSupplied` (supplied at the event's time);
- `intake.service_evaluated` with a score of at most 2 -> `RecordServiceEvaluation`, the
  evaluation referenced by the intake event's id, so one review opens one follow-up.

Refusals of the recording commands (a withdrawal of a case routing never routed because it
was never accepted, a correction for another request...) are facts routing cannot change:
they are logged and acknowledged. Other intake event types are ignored.
"""

from __future__ import annotations

import logging
from datetime import datetime

import asyncpg
import orjson
from pydantic import ValidationError

from contracts.base import payload_of
from contracts.intake import (
    ApplicationAccepted,
    ApplicationWithdrawn,
    CatalogItemPublished,
    CatalogItemRetired,
    CorrectionSupplied,
    ServiceEvaluated,
)
from contracts.joint import JointApplicationAccepted
from eventkit.envelope import Actor, Envelope
from eventkit.loops import wait_event

from ..domain.case import (
    RecordCorrectionSupplied,
    RecordServiceEvaluation,
    RecordWithdrawal,
    RouteAcceptedCase,
)
from ..domain.errors import DomainError
from ..domain.joint_case import member_routes
from ..domain.joint_member import HoldJointMember
from ..runtime import SYSTEM_ACTOR, RoutingRuntime
from .joint import record_joint_case
from .service import CaseService

log = logging.getLogger("routing.intake_consumer")

HANDLED = frozenset(
    {
        "intake.catalog_item_published",
        "intake.catalog_item_retired",
        "intake.application_accepted",
        "intake.joint_application_accepted",
        "intake.application_withdrawn",
        "intake.correction_supplied",
        "intake.service_evaluated",
    }
)
ORG_WAIT_SECONDS = 30.0

_CATALOG_FORGETTING_UNROUTED = """
WITH forgotten AS (DELETE FROM unrouted_cases WHERE case_id = $3)
SELECT category, handling_tier, case_type FROM catalog_items WHERE code = $1 AND version = $2
"""

Recording = RecordWithdrawal | RecordCorrectionSupplied | RecordServiceEvaluation


class IntakeHandler:
    """`async (conn, envelope) -> None` for `EventConsumer`."""

    def __init__(self, ctx: RoutingRuntime, cases: CaseService) -> None:
        self.ctx = ctx
        self.cases = cases

    async def __call__(self, conn: asyncpg.Connection, env: Envelope) -> None:
        if env.event_type not in HANDLED:
            return
        evt = payload_of(env)
        match evt:
            case CatalogItemPublished():
                await self._published(conn, evt)
            case CatalogItemRetired():
                await conn.execute(
                    "UPDATE catalog_items SET retired_from = $2 WHERE code = $1",
                    evt.code,
                    evt.retired_from,
                )
            case _:
                await self._wait_for_org()
                await self._case_event(conn, env, evt)

    async def _wait_for_org(self) -> None:
        """Messages may arrive before the org tree is seeded/loaded at start: wait for it
        (as an infrastructure delay: the consumer retries without counting attempts)."""
        if self.ctx.org_ready.is_set():
            return
        if not await wait_event(self.ctx.org_ready, ORG_WAIT_SECONDS):
            raise ConnectionError("the org tree is not loaded yet")

    async def _published(self, conn: asyncpg.Connection, evt: CatalogItemPublished) -> None:
        item = evt.item
        await conn.execute(
            """INSERT INTO catalog_items (code, version, name_zh, category, handling_tier,
                   case_type, promised_limit_days, effective_from, published_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
               ON CONFLICT (code, version) DO NOTHING""",
            item.code,
            item.version,
            item.name_zh,
            item.category,
            item.handling_tier,
            item.case_type,
            item.promised_limit_days,
            item.effective_from,
            evt.published_at,
        )
        await conn.execute(
            "UPDATE case_queue SET item_name_zh = $3"
            " WHERE item_code = $1 AND item_version = $2 AND item_name_zh IS NULL",
            item.code,
            item.version,
            item.name_zh,
        )

    async def _case_event(self, conn: asyncpg.Connection, env: Envelope, evt: object) -> None:
        now = self.ctx.clock()
        try:
            match evt:
                case ApplicationAccepted():
                    await self._accepted(conn, env, evt, now)
                    return
                case JointApplicationAccepted():
                    await self._joint_accepted(conn, env, evt, now)
                    return
                case ApplicationWithdrawn():
                    command: Recording = RecordWithdrawal(
                        case_id=evt.case_id, actor=SYSTEM_ACTOR, reason=evt.reason
                    )
                case CorrectionSupplied():
                    command = RecordCorrectionSupplied(
                        case_id=evt.case_id,
                        actor=SYSTEM_ACTOR,
                        correction_id=evt.correction_id,
                        supplied_at=env.occurred_at,
                    )
                case ServiceEvaluated():
                    if not evt.bad_review:
                        return
                    command = RecordServiceEvaluation(
                        case_id=evt.case_id,
                        actor=SYSTEM_ACTOR,
                        evaluation_ref=str(env.event_id),
                        score=evt.score,
                        bad_review=evt.bad_review,
                        dimensions=evt.dimensions,
                        comment=evt.comment,
                    )
                case _:
                    return
            await self.cases.handle_in(
                conn,
                command,
                now=now,
                correlation_id=env.correlation_id,
                causation_id=env.event_id,
            )
        except (DomainError, ValidationError) as exc:
            field, reason = _why(exc)
            log.warning(
                "intake event not applicable to routing's case; acknowledged without effect",
                extra={
                    "event_type": env.event_type,
                    "event_id": str(env.event_id),
                    "case_id": env.stream_id,
                    "field": field,
                    "reason": reason,
                },
            )

    async def _accepted(
        self, conn: asyncpg.Connection, env: Envelope, evt: ApplicationAccepted, now: datetime
    ) -> None:
        # One round trip: the catalog version to compare with, and an earlier failure to route
        # this case forgotten (recorded again below if routing fails again).
        row = await conn.fetchrow(
            _CATALOG_FORGETTING_UNROUTED, evt.item_code, evt.item_version, evt.case_id
        )
        _check_catalog(evt, row)
        try:
            command = route_command(evt, SYSTEM_ACTOR)
            async with conn.transaction():  # a savepoint: a refusal leaves nothing behind
                await self.cases.handle_in(
                    conn,
                    command,
                    now=now,
                    correlation_id=env.correlation_id,
                    causation_id=env.event_id,
                    item_name_zh=evt.item_name_zh,
                )
        except (DomainError, ValidationError) as exc:
            field, reason = _why(exc)
            log.error(
                "accepted case could not be routed; kept in unrouted_cases for an admin",
                extra={"case_id": evt.case_id, "field": field, "reason": reason},
            )
            await conn.execute(
                """INSERT INTO unrouted_cases (case_id, event_id, field, reason, accepted)
                   VALUES ($1, $2, $3, $4, $5::jsonb)
                   ON CONFLICT (case_id) DO UPDATE SET event_id = EXCLUDED.event_id,
                       field = EXCLUDED.field, reason = EXCLUDED.reason,
                       accepted = EXCLUDED.accepted, recorded_at = now()""",
                evt.case_id,
                env.event_id,
                field,
                reason,
                orjson.dumps(env.payload).decode(),
            )

    async def _joint_accepted(
        self, conn: asyncpg.Connection, env: Envelope, evt: JointApplicationAccepted, now: datetime
    ) -> None:
        await record_joint_case(conn, evt, env.payload)
        names = {m.case_id: m.item_name_zh for m in evt.members}
        before = {
            m.case_id: evt.members[i - 1].case_id
            for i, m in enumerate(evt.members)
            if i > 0 and evt.approval_order == "sequential"
        }
        for command in member_routes(evt, SYSTEM_ACTOR):
            try:
                async with conn.transaction():  # a savepoint per member
                    await self.cases.handle_in(
                        conn,
                        command,
                        now=now,
                        correlation_id=env.correlation_id,
                        causation_id=env.event_id,
                        item_name_zh=names[command.case_id],
                    )
                    if command.case_id in before:  # 串联: its clock waits for the one before
                        await self.cases.handle_in(
                            conn,
                            HoldJointMember(
                                case_id=command.case_id,
                                actor=SYSTEM_ACTOR,
                                joint_case_id=evt.joint_case_id,
                                reason="waiting_for_predecessor",
                                cause_case_id=before[command.case_id],
                            ),
                            now=now,
                            correlation_id=env.correlation_id,
                            causation_id=env.event_id,
                        )
            except DomainError as exc:
                log.error(
                    "a joint case's member could not be routed; kept in unrouted_cases",
                    extra={"case_id": command.case_id, "joint_case_id": evt.joint_case_id},
                )
                await conn.execute(
                    """INSERT INTO unrouted_cases (case_id, event_id, field, reason, accepted)
                       VALUES ($1, $2, $3, $4, $5::jsonb)
                       ON CONFLICT (case_id) DO UPDATE SET event_id = EXCLUDED.event_id,
                           field = EXCLUDED.field, reason = EXCLUDED.reason,
                           accepted = EXCLUDED.accepted, recorded_at = now()""",
                    command.case_id,
                    env.event_id,
                    exc.field,
                    exc.reason,
                    orjson.dumps(env.payload).decode(),
                )


def _check_catalog(evt: ApplicationAccepted, row: asyncpg.Record | None) -> None:
    if row is None:
        return
    theirs = (row["category"], row["handling_tier"], row["case_type"])
    if theirs != (evt.category, evt.handling_tier, evt.case_type):
        log.warning(
            "acceptance disagrees with the catalog version it names; routing by the "
            "acceptance (intake judged the case by it)",
            extra={
                "case_id": evt.case_id,
                "item": f"{evt.item_code} v{evt.item_version}",
                "catalog": list(theirs),
            },
        )


def route_command(evt: ApplicationAccepted, actor: Actor) -> RouteAcceptedCase:
    """The routing command for an acceptance (raises `ValidationError` on a bad case id)."""
    return RouteAcceptedCase(
        case_id=evt.case_id,
        actor=actor,
        item_code=evt.item_code,
        item_version=evt.item_version,
        category=evt.category,
        handling_tier=evt.handling_tier,
        registered_community_id=evt.registered_community_id,
        accepting_center_id=evt.accepting_center_id,
        accepting_staff_id=evt.accepting_staff_id,
        promised_limit_days=evt.promised_limit_days,
        case_type=evt.case_type,
        accepted_at=evt.accepted_at,
        material_codes=tuple(m.code for m in evt.required_materials),
        line_id=evt.line_id,
    )


def _why(exc: Exception) -> tuple[str, str]:
    if isinstance(exc, DomainError):
        return exc.field, exc.reason
    assert isinstance(exc, ValidationError)
    first = exc.errors()[0]
    return ".".join(str(p) for p in first["loc"]) or "payload", str(first["msg"])
