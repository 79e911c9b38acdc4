"""The FastAPI dependencies of routing's routes: the objects `bootstrap.build` made, handed
to each route as it is called.

`build` puts each object on `app.state` once, whole, before the app serves anything; these
functions only read them back, typed, so a route names what it uses (`Depends(case_service)`)
rather than reaching through a locator. Async on purpose: FastAPI runs a plain `def`
dependency in its thread pool, a thread hop on every request (~10 % of routing's CPU under
load, bench/PIPELINE.md).
"""

from __future__ import annotations

from fastapi import Request

from ..cases.deadlines import DeadlineChecker
from ..cases.recompute import DeadlineRecomputer
from ..cases.service import CaseService
from ..org.admin import OrgAdmin
from ..runtime import RoutingRuntime


async def ctx(request: Request) -> RoutingRuntime:
    return request.app.state.routing  # type: ignore[no-any-return]


async def case_service(request: Request) -> CaseService:
    return request.app.state.cases  # type: ignore[no-any-return]


async def org_admin(request: Request) -> OrgAdmin:
    return request.app.state.org_admin  # type: ignore[no-any-return]


async def deadline_checker(request: Request) -> DeadlineChecker:
    return request.app.state.deadlines  # type: ignore[no-any-return]


async def deadline_recomputer(request: Request) -> DeadlineRecomputer:
    return request.app.state.recompute  # type: ignore[no-any-return]
