"""One POST run under its `Idempotency-Key`, the way every service's edge runs it.

    return await run_idempotent(store, service="routing", principal=principal, key=key,
                                request=request, body=body, work=work, on_commit=wake)

The key is the caller's, so it is scoped to `<service>:<sub>`; the request is fingerprinted
from its method, path and validated body; `work(conn)` runs once inside the store's
transaction and its answer is remembered (see `eventkit.idempotency`). Intake and routing
each spelled this out; one copy keeps the scope and the fingerprint the same in every
service, so a retried POST finds its first answer everywhere or nowhere.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from pydantic import BaseModel

from .auth import Principal
from .idempotency import IdempotencyStore, Work, request_fingerprint


async def run_idempotent(
    store: IdempotencyStore,
    *,
    service: str,
    principal: Principal,
    key: str | None,
    request: Request,
    body: BaseModel | dict[str, Any] | None,
    work: Work,
    on_commit: Callable[[], None] | None = None,
) -> Response:
    """Run `work` once per (caller, key) and answer with its (possibly remembered) response."""
    dumped = body.model_dump(mode="json") if isinstance(body, BaseModel) else body
    result = await store.run(
        scope=f"{service}:{principal.sub}",
        key=key,
        request_hash=request_fingerprint(request.method, request.url.path, dumped),
        work=work,
        on_commit=on_commit,
    )
    return result.response()


__all__ = ["run_idempotent"]
