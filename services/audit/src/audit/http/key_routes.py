"""The keys that verify the log, published (no token): anyone may check a checkpoint.

    GET /v1/log/public-key    the log's verifier key, text/plain, one line
    GET /v1/log/witness-keys  the verifier keys of the witnesses whose cosignatures the log
                              accepts (AUDIT_WITNESS_KEYS), text/plain, one per line
    GET /v1/log/keys          both, as JSON, with the checkpoint origin

Keys are in the C2SP signed-note verifier key format (`<name>+<8 hex key ID>+<base64(0x01
|| Ed25519 public key)>`, `tlog.note.Verifier`), the one `python -m tlog checkpoint --key`
and Go's `golang.org/x/mod/sumdb/note` read. A key fetched from the party being audited is
only as good as the channel: an inspector compares its key ID with one obtained out of band
(and holds the witness's key from the witness itself) before trusting it.
"""

from __future__ import annotations

import base64
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException
from fastapi.responses import PlainTextResponse

from tlog.note import Verifier

from ..runtime import AuditRuntime
from .deps import ctx

router = APIRouter(prefix="/v1/log", tags=["log"])
Ctx = Annotated[AuditRuntime, Depends(ctx)]
TEXT = "text/plain; charset=utf-8"


def key_json(v: Verifier) -> dict[str, Any]:
    """One verifier key: its name, key ID, the key string and the raw public key."""
    return {
        "name": v.name,
        "key_id": f"{v.key_hash:08x}",
        "algorithm": "Ed25519",
        "verifier_key": v.to_key(),
        "public_key": base64.b64encode(v.public_key).decode("ascii"),
    }


def _log_key(c: AuditRuntime) -> Verifier:
    if c.verifier is None:
        raise HTTPException(
            503,
            detail={
                "reason": "the log has no key configured (AUDIT_SIGNING_KEY_FILE, "
                "AUDIT_SIGNING_KEY or AUDIT_VERIFIER_KEY)"
            },
        )
    return c.verifier


@router.get("/public-key", response_class=PlainTextResponse)
async def get_public_key(c: Ctx) -> PlainTextResponse:
    """The log's verifier key (C2SP signed-note format), for `python -m tlog ... --key`."""
    return PlainTextResponse(_log_key(c).to_key() + "\n", media_type=TEXT)


@router.get("/witness-keys", response_class=PlainTextResponse)
async def get_witness_keys(c: Ctx) -> PlainTextResponse:
    """The verifier keys of the witnesses whose cosignatures are accepted, one per line."""
    return PlainTextResponse(
        "".join(v.to_key() + "\n" for v in c.witness_verifiers), media_type=TEXT
    )


@router.get("/keys")
async def get_keys(c: Ctx) -> dict[str, Any]:
    """The checkpoint origin, the log's key and the witnesses' keys, as JSON."""
    return {
        "origin": c.origin,
        "log": key_json(_log_key(c)),
        "witnesses": [key_json(v) for v in c.witness_verifiers],
    }
