"""The log's HTTP API: checkpoints, proofs, leaves, export, integrity, witness cosignatures.

Who may call what (decided here, see also README):

* public (no token): the latest checkpoint, checkpoints by size, inclusion and consistency
  proofs, cosignatures. They reveal hashes only, and "anyone can verify" is the point of a
  transparency log: a resident can check the receipt event of their own case.
  An inclusion proof carries the leaf bytes only for an inspector or admin.
* inspector or admin: the leaves themselves (`/leaves/{idx}`, `/events/{id}`), the export
  (leaf bytes of every event: redacted, but still the whole administrative trail) and the
  integrity check (a full check reads the whole log: not for anonymous callers).

Proof formats are those of the offline verifier (`python -m tlog inclusion/consistency`).
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.responses import PlainTextResponse, StreamingResponse

from contracts.limits import LogIndex, LogSize, Position
from eventkit.auth import Principal, optional_principal, require_roles
from eventkit.edge import INT64_MAX
from eventkit.openapi import errors

from ..log import cosign
from ..log.checkpoint import Checkpointer, checkpoint_at, latest_checkpoint
from ..log.integrity import check_full, check_sample
from ..log.store import (
    b64,
    consistency_proof,
    export_lines,
    inclusion_proof,
    leaf_by_event,
    leaf_by_index,
    leaf_json,
    tree_state,
)
from ..runtime import AuditRuntime
from .deps import checkpointer, cosign_pacer, ctx
from .pacing import Pacer, retry_after

router = APIRouter(prefix="/v1/log", tags=["log"])

INSPECTORS = ("inspector", "admin")
Inspector = Annotated[Principal, Depends(require_roles(*INSPECTORS))]
Maybe = Annotated[Principal | None, Depends(optional_principal)]
Ctx = Annotated[AuditRuntime, Depends(ctx)]
TheCheckpointer = Annotated[Checkpointer | None, Depends(checkpointer)]
CosignPacer = Annotated[Pacer, Depends(cosign_pacer)]


TreeSize = Annotated[int, Query(ge=1, le=INT64_MAX)]
MAX_NOTE_BYTES = 64 * 1024
"""A cosigned checkpoint note: a few lines and one signature line per witness."""


def _not_found(field: str, reason: str) -> HTTPException:
    return HTTPException(404, detail={"field": field, "reason": reason})


def _bad(field: str, reason: str) -> HTTPException:
    return HTTPException(400, detail={"field": field, "reason": reason})


def merge_cosignatures(c: AuditRuntime, note: str, cosigned: list[str]) -> str:
    """The log's note plus the configured witnesses' lines that verify (`audit.log.cosign`)."""
    return cosign.merge(note, cosigned, c.witness_verifiers)


@router.get(
    "/checkpoint",
    response_class=PlainTextResponse,
    responses={200: {"content": {"text/plain": {}}}, **errors(404)},
)
async def get_checkpoint(
    c: Ctx,
    size: Annotated[LogSize | None, Query(description="a past checkpoint by its size")] = None,
    cosigned: Annotated[bool, Query(description="merge witness cosignatures")] = True,
) -> PlainTextResponse:
    """The latest signed checkpoint (C2SP signed note, text/plain), with cosignatures."""
    async with c.pool.acquire() as conn:
        cp = await (latest_checkpoint(conn) if size is None else checkpoint_at(conn, size))
        if cp is None:
            raise _not_found(
                "size", "no checkpoint" if size is None else f"no checkpoint at size {size}"
            )
        note = cp.note
        if cosigned:
            rows = await conn.fetch("SELECT note FROM cosignatures WHERE size = $1", cp.size)
            note = merge_cosignatures(c, note, [r["note"] for r in rows])
    return PlainTextResponse(note, media_type="text/plain; charset=utf-8")


@router.get("/checkpoints")
async def list_checkpoints(
    c: Ctx,
    after: Annotated[Position, Query()] = -1,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    async with c.pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT size, root, signed_at FROM checkpoints WHERE size > $1 ORDER BY size LIMIT $2",
            after,
            limit,
        )
    return {
        "checkpoints": [
            {"size": r["size"], "root": b64(r["root"]), "signed_at": r["signed_at"].isoformat()}
            for r in rows
        ]
    }


async def _default_size(conn: Any) -> int:
    cp = await latest_checkpoint(conn)
    if cp is not None:
        return cp.size
    return (await tree_state(conn)).size


@router.get("/proof/inclusion", responses=errors(400, 404, 409))
async def get_inclusion_proof(
    c: Ctx,
    who: Maybe,
    event_id: uuid.UUID | None = None,
    index: Annotated[LogIndex | None, Query()] = None,
    tree_size: Annotated[
        int | None, Query(ge=1, le=INT64_MAX, description="default: the latest checkpoint's size")
    ] = None,
) -> dict[str, Any]:
    """RFC 9162 inclusion proof of one leaf (by event_id or index) in the tree of tree_size."""
    if (event_id is None) == (index is None):
        raise _bad("index", "give exactly one of event_id and index")
    async with c.pool.acquire() as conn:
        if event_id is not None:
            row = await leaf_by_event(conn, event_id)
        else:
            assert index is not None
            row = await leaf_by_index(conn, index)
        if row is None:
            raise _not_found("event_id" if event_id is not None else "index", "no such leaf")
        state = await tree_state(conn)
        size = tree_size if tree_size is not None else await _default_size(conn)
        if size > state.size:
            raise _bad("tree_size", f"tree_size {size} is beyond the log's size {state.size}")
        if row["idx"] >= size:
            raise HTTPException(
                409,
                detail={
                    "field": "tree_size",
                    "reason": f"leaf {row['idx']} is not covered by a tree of size {size} "
                    "(wait for the next checkpoint, or pass tree_size)",
                    "index": row["idx"],
                },
            )
        proof = await inclusion_proof(conn, row["idx"], size)
    out: dict[str, Any] = {
        "leaf_index": row["idx"],
        "tree_size": size,
        "leaf_hash": b64(row["leaf_hash"]),
        "event_id": str(row["event_id"]) if row["event_id"] else None,
        "proof": [b64(p) for p in proof],
    }
    if who is not None and who.role in INSPECTORS:
        out["leaf"] = b64(row["leaf"])
    return out


@router.get("/proof/consistency", responses=errors(400))
async def get_consistency_proof(
    c: Ctx,
    first: TreeSize,
    second: Annotated[
        int | None, Query(ge=1, le=INT64_MAX, description="default: latest checkpoint")
    ] = None,
) -> dict[str, Any]:
    """RFC 9162 consistency proof that the tree of `second` leaves extends the one of `first`."""
    async with c.pool.acquire() as conn:
        size2 = second if second is not None else await _default_size(conn)
        state = await tree_state(conn)
        if size2 > state.size:
            raise _bad("second", f"second {size2} is beyond the log's size {state.size}")
        if first > size2:
            raise _bad("first", "first must not exceed second")
        proof = await consistency_proof(conn, first, size2)
    return {"old_size": first, "new_size": size2, "proof": [b64(p) for p in proof]}


@router.get("/leaves/{idx}")
async def get_leaf(c: Ctx, _: Inspector, idx: Annotated[LogIndex, Path()]) -> dict[str, Any]:
    async with c.pool.acquire() as conn:
        row = await leaf_by_index(conn, idx)
    if row is None:
        raise _not_found("idx", f"no leaf {idx}")
    return leaf_json(row)


@router.get("/events/{event_id}")
async def get_event_leaf(c: Ctx, _: Inspector, event_id: uuid.UUID) -> dict[str, Any]:
    async with c.pool.acquire() as conn:
        row = await leaf_by_event(conn, event_id)
    if row is None:
        raise _not_found("event_id", f"event {event_id} is not in the log")
    return leaf_json(row)


@router.get("/export", responses={200: {"content": {"application/x-ndjson": {}}}})
async def export(
    c: Ctx,
    _: Inspector,
    start: Annotated[LogSize, Query()] = 0,
    end: Annotated[LogSize | None, Query(description="exclusive; default: tree size")] = None,
) -> StreamingResponse:
    """JSON Lines ``{"index", "leaf", "leaf_hash"}`` for ``python -m tlog recompute``."""
    async with c.pool.acquire() as conn:
        size = (await tree_state(conn)).size
    stop = size if end is None else min(end, size)
    return StreamingResponse(
        export_lines(c.pool, start, stop),
        media_type="application/x-ndjson",
        headers={"X-Tree-Size": str(size)},
    )


@router.get("/integrity")
async def integrity(
    c: Ctx,
    _: Inspector,
    signing: TheCheckpointer,
    mode: Annotated[str, Query(pattern="^(full|sample)$")] = "sample",
    k: Annotated[int | None, Query(ge=1, le=100_000)] = None,
) -> dict[str, Any]:
    """Re-verify the log: full (every leaf) or a sample; reports the first bad index."""
    async with c.pool.acquire() as conn:
        if mode == "full":
            report = await check_full(conn, c.verifier, c.origin, c.published)
        else:
            report = await check_sample(
                conn, c.verifier, c.origin, c.published, k=k or c.settings.integrity_sample_size
            )
    out = report.to_json()
    if signing is not None and signing.refused:
        out["checkpointer_refused"] = signing.refused
    if c.rewrite_powers:
        out["runtime_role_can_rewrite"] = c.rewrite_powers
    return out


@router.get("/published", responses=errors(404))
async def list_published(
    c: Ctx,
    after: Annotated[Position, Query()] = -1,
    limit: Annotated[int, Query(ge=1, le=1000)] = 1000,
) -> dict[str, Any]:
    """Sizes of the checkpoints published outside the database (`AUDIT_CHECKPOINT_STORE`),
    read from the store itself: a database rollback cannot shorten this list."""
    if c.published is None:
        raise _not_found("(store)", "no checkpoint store is configured")
    return {"sizes": await c.published.sizes(after, limit)}


@router.get(
    "/published/{size}",
    response_class=PlainTextResponse,
    responses={200: {"content": {"text/plain": {}}}, **errors(404)},
)
async def get_published(c: Ctx, size: Annotated[LogSize, Path()]) -> PlainTextResponse:
    """One published checkpoint (the log's signed note, as published)."""
    note = None if c.published is None else await c.published.note(size)
    if note is None:
        raise _not_found("size", f"no checkpoint published at size {size}")
    return PlainTextResponse(note, media_type="text/plain; charset=utf-8")


@router.post(
    "/cosignatures",
    status_code=201,
    responses=errors(413, 422, 429, 503),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"text/plain": {"schema": {"type": "string", "maxLength": MAX_NOTE_BYTES}}},
        }
    },
)
async def post_cosignature(c: Ctx, pacer: CosignPacer, request: Request) -> dict[str, Any]:
    """A witness hands back the checkpoint with its cosignature (a signed note, text/plain).

    Accepted only if every signature line is the log's own or a configured witness's
    (AUDIT_WITNESS_KEYS) and verifies, and the checkpoint is one this log signed; only the
    log's line and the witness's line are stored (`audit.log.cosign`). Paced per client
    address (AUDIT_COSIGN_BURST, AUDIT_COSIGN_PER_SECOND): 429 with Retry-After.
    """
    client = request.client.host if request.client else "?"
    wait = pacer.take(client)
    if wait:
        raise HTTPException(
            429,
            detail={"field": "(client)", "reason": f"too many cosignature posts from {client}"},
            headers={"Retry-After": retry_after(wait)},
        )
    raw = await request.body()
    if len(raw) > MAX_NOTE_BYTES:
        raise HTTPException(
            413, detail={"field": "(body)", "reason": f"a note is at most {MAX_NOTE_BYTES} bytes"}
        )
    note = raw.decode("utf-8", "replace")
    if c.verifier is None:
        raise HTTPException(
            503, detail={"field": "(log)", "reason": "the log has no verifier key configured"}
        )
    try:
        accepted = cosign.accept(note, c.verifier, c.witness_verifiers, c.origin)
    except cosign.CosignatureRefused as exc:
        raise HTTPException(
            422, detail={"field": "(body)", "reason": f"not accepted: {exc}"}
        ) from None
    cp = accepted.checkpoint
    async with c.pool.acquire() as conn:
        mine = await checkpoint_at(conn, cp.size)
        if mine is None or mine.root != cp.root_hash:
            raise HTTPException(
                422,
                detail={
                    "field": "(body)",
                    "reason": f"this log signed no such checkpoint at size {cp.size}",
                },
            )
        for w, stored in accepted.notes.items():
            await conn.execute(
                """INSERT INTO cosignatures (witness, size, note) VALUES ($1, $2, $3)
                   ON CONFLICT (witness, size) DO NOTHING""",
                w,
                cp.size,
                stored,
            )
    return {"size": cp.size, "witnesses": sorted(accepted.notes)}


@router.get("/cosignatures")
async def list_cosignatures(c: Ctx, size: Annotated[LogSize, Query()]) -> dict[str, Any]:
    async with c.pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT witness, note, received_at FROM cosignatures WHERE size = $1", size
        )
    return {
        "size": size,
        "cosignatures": [
            {
                "witness": r["witness"],
                "note": r["note"],
                "received_at": r["received_at"].isoformat(),
            }
            for r in rows
        ],
    }
