"""The FastAPI dependencies of audit's routes: the objects `bootstrap.build` made, handed to
each route as it is called.

`build` puts each object on `app.state` once, whole, before the app serves anything; these
functions only read them back, typed. The appender, the checkpointer and the projector are None by
configuration only (`AUDIT_RUN_WRITER=false`; no signing key). Async on purpose: a plain
`def` dependency would run in FastAPI's thread pool per request.
"""

from __future__ import annotations

from fastapi import Request

from ..log.appender import Appender
from ..log.checkpoint import Checkpointer
from ..projector import Projector
from ..runtime import AuditRuntime
from .pacing import Pacer


async def ctx(request: Request) -> AuditRuntime:
    return request.app.state.audit  # type: ignore[no-any-return]


async def appender(request: Request) -> Appender | None:
    return request.app.state.appender  # type: ignore[no-any-return]


async def checkpointer(request: Request) -> Checkpointer | None:
    return request.app.state.checkpointer  # type: ignore[no-any-return]


async def cosign_pacer(request: Request) -> Pacer:
    return request.app.state.cosign_pacer  # type: ignore[no-any-return]


async def projector(request: Request) -> Projector | None:
    return request.app.state.projector  # type: ignore[no-any-return]
