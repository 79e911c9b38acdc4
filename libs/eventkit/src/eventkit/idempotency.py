"""`Idempotency-Key` for POSTs: a retried request returns the first result and writes nothing.

A client that did not see the answer to a POST (timeout, dropped connection) sends it again
with the same `Idempotency-Key` header. Without this, a resident's application would be
registered twice. With it:

    store = IdempotencyStore(pool)
    result = await store.run(
        scope=f"intake:{principal.sub}",          # keys are the client's: scope them to it
        key=idempotency_key,                       # from the header, or None
        request_hash=request_fingerprint("POST", "/v1/applications", body),
        work=do_it,                                # async (conn) -> (status_code, json_body)
        on_commit=runtime.store.notify_appended,   # wake the outbox relay
    )
    return result.response()

What `run` does, in ONE PostgreSQL transaction:

1. Claim the key: `INSERT ... ON CONFLICT DO NOTHING RETURNING` a row for (scope, key). Two
   copies of a request arriving together are serialised on the primary key: the second's
   insert waits for the first transaction to end, then finds its committed record (or, if
   it rolled back, claims the key itself).
2. Not claimed: look the key up. Same request hash -> return the stored status and the
   exact stored bytes (`replayed=True`, header `Idempotent-Replayed: true`); nothing runs.
   Another hash -> `IdempotencyKeyReused` (422 at the edge: the key belongs to a different
   request; reusing it is a client bug and must not silently do either request).
3. Claimed: `work(conn)` runs inside the transaction (it appends its events with `conn`),
   the response is written into the claimed row, and everything commits together. A crash
   anywhere before the commit leaves neither the events nor the key; after it, both. The
   common path costs two statements (claim, store); the claim row is never seen
   half-written, since it commits only with the response.

Only successful results are remembered: if `work` raises (a domain refusal, a 4xx), the
transaction rolls back and nothing is stored, so a retry runs again; since the refusal
changed nothing, running again is the same as replaying, and a corrected request may reuse
the key. A lost optimistic race (`ConcurrencyError` from the store, by default) reruns the
whole transaction a few times.

The request hash covers method, path and the *validated* body (canonical JSON), so
formatting differences do not count as a different request. Records are kept until
`purge(older_than)` removes them (services run it periodically; 24 h is the usual window).
The table comes from eventkit's migration `0002_idempotency.sql`.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import asyncpg
import orjson
from fastapi import Header, HTTPException
from fastapi.responses import Response

from .pools import PoolSource, resolve_pool
from .store import ConcurrencyError

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255
_KEY_RE = re.compile(r"^[\x21-\x7e]{1,255}$")  # visible ASCII, no spaces

Work = Callable[[asyncpg.Connection], Awaitable[tuple[int, Any]]]


class IdempotencyKeyReused(Exception):
    """The key was already used for a different request (method, path or body differ)."""

    def __init__(self, key: str) -> None:
        super().__init__(f"Idempotency-Key {key!r} was already used for a different request")
        self.key = key


@dataclass(frozen=True)
class IdempotentResult:
    status_code: int
    body: bytes
    replayed: bool

    def json(self) -> Any:
        return orjson.loads(self.body)

    def response(self) -> Response:
        headers = {REPLAYED_HEADER: "true"} if self.replayed else {}
        return Response(
            content=self.body,
            status_code=self.status_code,
            media_type="application/json",
            headers=headers,
        )


def canonical_json(value: Any) -> bytes:
    """`value` as canonical JSON (sorted keys, no whitespace), for any value JSON can hold.

    orjson is the fast path; it refuses what valid JSON may still carry (an integer beyond
    64 bits: `TypeError: Integer exceeds 64-bit range`, which was a 500 on every POST), so
    the standard library encodes those. The same value always takes the same path, so the
    same request always hashes the same."""
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
    except TypeError:
        return json.dumps(
            _str_keys(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
        ).encode("utf-8", "surrogatepass")


def _str_keys(value: Any) -> Any:
    """Keys as strings (as JSON has them), so sorting never compares an int with a str."""
    if isinstance(value, dict):
        return {str(k): _str_keys(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_str_keys(v) for v in value]
    return value


def request_fingerprint(method: str, path: str, body: Any) -> str:
    """SHA-256 of (method, path, body as canonical JSON). Give the validated body (e.g.
    `model.model_dump(mode="json")`), not the raw bytes: whitespace and key order differ
    between retries of the same request in some clients. Never fails on a JSON value."""
    canonical = canonical_json({"method": method.upper(), "path": path, "body": body})
    return hashlib.sha256(canonical).hexdigest()


class IdempotencyStore:
    """The `idempotency_keys` table of one service's schema (see module doc)."""

    def __init__(
        self,
        pool: PoolSource,
        *,
        retry_on: tuple[type[BaseException], ...] = (ConcurrencyError,),
        retries: int = 8,
    ) -> None:
        self._pool_source = pool
        self.retry_on = retry_on
        self.retries = retries

    def _pool(self) -> asyncpg.Pool:
        return resolve_pool(self._pool_source)

    async def run(
        self,
        *,
        scope: str,
        key: str | None,
        request_hash: str,
        work: Work,
        on_commit: Callable[[], None] | None = None,
    ) -> IdempotentResult:
        """Run `work` once per (scope, key); see the module doc. `key=None` just runs `work`
        in a transaction (with the same retries)."""
        for attempt in range(self.retries):
            try:
                result = await self._attempt(scope, key, request_hash, work)
            except self.retry_on:
                if attempt + 1 >= self.retries:
                    raise
                await asyncio.sleep(random.uniform(0, 0.005 * (attempt + 1)))
                continue
            if not result.replayed and on_commit is not None:
                on_commit()
            return result
        raise AssertionError("unreachable")

    async def _attempt(
        self, scope: str, key: str | None, request_hash: str, work: Work
    ) -> IdempotentResult:
        async with self._pool().acquire() as conn, conn.transaction():
            if key is not None:
                replay = await self._claim(conn, scope, key, request_hash)
                if replay is not None:
                    return replay
            status, body = await work(conn)
            data = orjson.dumps(body, option=orjson.OPT_NON_STR_KEYS)
            if key is not None:
                await conn.execute(
                    "UPDATE idempotency_keys SET status_code = $3, response = $4"
                    " WHERE scope = $1 AND key = $2",
                    scope,
                    key,
                    status,
                    data,
                )
            return IdempotentResult(status, data, False)

    async def _claim(
        self, conn: asyncpg.Connection, scope: str, key: str, request_hash: str
    ) -> IdempotentResult | None:
        """None when this transaction now holds the key; else the stored result to replay."""
        while True:
            claimed = await conn.fetchval(
                "INSERT INTO idempotency_keys (scope, key, request_hash, status_code, response)"
                " VALUES ($1, $2, $3, 0, ''::bytea)"
                " ON CONFLICT (scope, key) DO NOTHING RETURNING true",
                scope,
                key,
                request_hash,
            )
            if claimed:
                return None
            row = await conn.fetchrow(
                "SELECT request_hash, status_code, response FROM idempotency_keys"
                " WHERE scope = $1 AND key = $2",
                scope,
                key,
            )
            if row is None:
                continue  # purged between the two statements: claim again
            if row["request_hash"] != request_hash:
                raise IdempotencyKeyReused(key)
            return IdempotentResult(row["status_code"], bytes(row["response"]), True)

    async def purge(self, older_than: timedelta) -> int:
        """Forget keys recorded more than `older_than` ago; returns how many."""
        async with self._pool().acquire() as conn:
            done = await conn.execute(
                "DELETE FROM idempotency_keys WHERE created_at < now() - $1::interval",
                older_than,
            )
        return int(done.split()[-1])


def validate_key(value: str | None) -> str | None:
    """The header value, checked: 1-255 visible ASCII characters (a UUID is typical)."""
    if value is None:
        return None
    if not _KEY_RE.match(value):
        raise HTTPException(
            status_code=422,
            detail={
                "field": HEADER,
                "reason": f"must be 1-{MAX_KEY_LENGTH} visible ASCII characters without "
                "spaces (a UUID is typical)",
            },
        )
    return value


async def idempotency_key(
    value: str | None = Header(
        default=None,
        alias=HEADER,
        description="Send the same value again to retry this POST safely: a retry returns "
        "the first result and writes nothing. A value reused with a different body is "
        "refused (422).",
    ),
) -> str | None:
    """FastAPI dependency: the optional `Idempotency-Key` header, validated."""
    return validate_key(value)


def reused_key_error(exc: IdempotencyKeyReused) -> HTTPException:
    """The 422 for a key reused with a different request."""
    return HTTPException(
        status_code=422,
        detail={
            "field": HEADER,
            "reason": f"{exc}; use a new key for a new request",
        },
    )


__all__ = [
    "HEADER",
    "REPLAYED_HEADER",
    "IdempotencyKeyReused",
    "IdempotencyStore",
    "IdempotentResult",
    "canonical_json",
    "idempotency_key",
    "request_fingerprint",
    "reused_key_error",
    "validate_key",
]
