"""The `applications` read model: one row per case, from intake's own application events.

Written in the same transaction as the append (the command edge calls `apply` with the
envelopes it just appended), so the row and the stream never disagree: a reader either sees
both or neither. That is simpler than an asynchronous projector and costs one UPDATE per
event. Every write is guarded by the stream version, so applying an event twice (a replay
through `rebuild`) changes nothing.

The row keeps what the resident status view and staff need; the event store keeps the rest
(the full trail is read from the stream by `GET /v1/applications/{case_id}`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg
import orjson

from contracts.base import DomainEvent, payload_of
from contracts.intake import (
    ApplicationAccepted,
    ApplicationSubmitted,
    ApplicationWithdrawn,
    CaseArchived,
    CorrectionRequestReceived,
    CorrectionSupplied,
    DecisionReceived,
    FeeOverrideRecorded,
    MaterialsMissingNotified,
    MaterialsSupplemented,
    PromisedDateRevised,
    ResultDelivered,
    SealedApplicant,
    ServiceEvaluated,
)
from contracts.upcasters import UPCASTERS
from eventkit.envelope import Envelope
from eventkit.store import EventReader

from ..personal_data import legacy_applicant_key


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


def _dump(models: Sequence[Any]) -> str:
    return _json([m.model_dump(mode="json") for m in models])


_INSERT = """
INSERT INTO applications (
    case_id, status, item_code, item_version, item_name_zh, category, handling_tier, case_type,
    promised_limit_days, channel, applicant, applicant_key, registered_community_id,
    accepting_center_id, accepting_staff_id, submitted_by, submitted_by_role, submitted_at,
    fee_standard_fen, fee_paid_fen, deposit_standard_fen, deposit_paid_fen, payment_receipt_no,
    materials_provided, required_materials, stream_version, updated_at, subject_id)
VALUES ($1, 'submitted', $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb,
        coalesce($11, (SELECT lookup_hash FROM personal_data_subjects WHERE subject_id = $27)),
        $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23::jsonb, $24::jsonb, $25, $26,
        $27)
ON CONFLICT (case_id) DO NOTHING
"""


async def _insert(
    conn: asyncpg.Connection, env: Envelope, e: ApplicationSubmitted, secret: bytes
) -> None:
    """The applicant is kept as the event has it: sealed (opened on read with the subject's
    key, `http.personal_reads`; `applicant_key` is the subject's keyed lookup hash), or, for
    a case submitted before sealing, plain with the legacy `applicant_key`."""
    if isinstance(e.applicant, SealedApplicant):
        key, subject = None, e.applicant.subject_id
    else:
        key, subject = legacy_applicant_key(e.applicant.id_number, secret), None
    await conn.execute(
        _INSERT,
        e.case_id,
        e.item_code,
        e.item_version,
        e.item_name_zh,
        e.category,
        e.handling_tier,
        e.case_type,
        e.promised_limit_days,
        e.channel,
        _json(e.applicant.model_dump(mode="json")),
        key,
        e.registered_community_id,
        e.accepting_center_id,
        e.accepting_staff_id,
        e.submitted_by,
        env.actor.role,
        e.submitted_at,
        e.fee_standard_fen,
        e.fee_paid_fen,
        e.deposit_standard_fen,
        e.deposit_paid_fen,
        e.payment_receipt_no,
        _dump(e.materials_provided),
        _dump(e.required_materials),
        env.stream_version,
        env.occurred_at,
        subject,
    )


def _years(years: tuple[int, ...] | None) -> list[int] | None:
    return None if years is None else list(years)


def _patch(evt: DomainEvent, env: Envelope) -> dict[str, tuple[str, Any]] | None:
    """Columns an event sets: name -> (SQL expression with `{}` for the parameter, value)."""
    at = env.occurred_at
    match evt:
        case FeeOverrideRecorded():
            return {"fee_override": ("{}::jsonb", _json(evt.model_dump(mode="json")))}
        case MaterialsMissingNotified():
            return {
                "status": ("{}", "awaiting_materials"),
                "missing": ("{}::jsonb", _dump(evt.missing)),
                "notified_at": ("{}", at),
            }
        case MaterialsSupplemented():
            return {
                "materials_provided": ("materials_provided || {}::jsonb", _dump(evt.supplied)),
                "missing": ("{}::jsonb", _dump(evt.still_missing)),
            }
        case ApplicationAccepted():
            return {
                "status": ("{}", "accepted"),
                "missing": ("{}::jsonb", "[]"),
                "receipt_no": ("{}", evt.receipt_no),
                "accepted_on": ("{}", evt.accepted_on),
                "accepted_at": ("{}", evt.accepted_at),
                "promised_completion_date": ("{}", evt.promised_completion_date),
                "promised_provisional_years": ("{}", _years(evt.provisional_years)),
            }
        case PromisedDateRevised():
            return {
                "promised_completion_date": ("{}", evt.promised_completion_date),
                "promised_provisional_years": ("{}", _years(evt.provisional_years)),
            }
        case CorrectionRequestReceived():
            return {
                "status": ("{}", "correction_requested"),
                "pending_correction": ("{}::jsonb", _json(evt.model_dump(mode="json"))),
            }
        case CorrectionSupplied():
            return {
                "status": ("{}", "accepted"),
                "pending_correction": ("{}::jsonb", None),
                "materials_provided": ("materials_provided || {}::jsonb", _dump(evt.materials)),
            }
        case DecisionReceived():
            return {
                "status": ("{}", "decided"),
                "pending_correction": ("{}::jsonb", None),
                "decision": ("{}", evt.decision),
                "decision_reason": ("{}", evt.reason),
                "decided_by": ("{}", evt.decided_by),
                "decided_at": ("{}", evt.decided_at),
            }
        case ResultDelivered():
            return {
                "status": ("{}", "delivered"),
                "delivered_at": ("{}", at),
                "delivery": ("{}::jsonb", _json(evt.model_dump(mode="json"))),
            }
        case CaseArchived():
            return {
                "status": ("{}", "archived"),
                "archived_at": ("{}", at),
                "archive_no": ("{}", evt.archive_no),
            }
        case ServiceEvaluated():
            return {"evaluation_score": ("{}", evt.score), "evaluated_at": ("{}", at)}
        case ApplicationWithdrawn():
            return {
                "status": ("{}", "withdrawn"),
                "pending_correction": ("{}::jsonb", None),
                "withdrawn_at": ("{}", at),
                "withdrawal_reason": ("{}", evt.reason),
            }
    return None


async def apply(conn: asyncpg.Connection, envelopes: Sequence[Envelope], secret: bytes) -> None:
    """Project appended application envelopes (with their stream versions set)."""
    for env in envelopes:
        evt = payload_of(env)
        if isinstance(evt, ApplicationSubmitted):
            await _insert(conn, env, evt, secret)
            continue
        patch = _patch(evt, env)
        if patch is None:
            continue
        sets, args = [], [env.stream_id, env.stream_version, env.occurred_at]
        for column, (expr, value) in patch.items():
            args.append(value)
            sets.append(f"{column} = " + expr.format(f"${len(args)}"))
        await conn.execute(
            f"UPDATE applications SET {', '.join(sets)}, stream_version = $2, updated_at = $3"
            " WHERE case_id = $1 AND stream_version < $2",
            *args,
        )


async def rebuild(
    conn: asyncpg.Connection,
    secret: bytes,
    batch: int = 5000,
    reader: EventReader | None = None,
) -> int:
    """Re-project every case from the store (after a schema change or a bug fix): clears the
    table and folds all application streams in store order. Run with the service stopped or
    inside one transaction. Returns the number of events applied. `reader`: the service's
    read path (default: one over the contracts' upcasters, as the service's own)."""
    reader = reader or EventReader(UPCASTERS)
    await conn.execute("DELETE FROM applications")
    last, count = 0, 0
    while True:
        page = await reader.read_prefix(conn, "case-", after_position=last, limit=batch)
        if not page:
            return count
        await apply(conn, [env for _, env in page], secret)
        last, count = page[-1][0], count + len(page)
