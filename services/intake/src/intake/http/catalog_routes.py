"""The published service catalog (阳光运作: procedures and fee standards are public).

Reads are public (no token): the items in force, with their materials, fees, deposits and
promised times; one item with its whole version history. Admins publish a new version of an
item (never an edit: a case is judged by the version in force when it was submitted) or
retire one from a date. Each change is one event on the `catalog` stream.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

import asyncpg
from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response

from contracts.intake import CATEGORY_NAMES_ZH, CatalogItemVersion, Category
from contracts.joint import JointBundle
from contracts.limits import Day
from eventkit.auth import Principal, require_roles
from eventkit.idempotency import idempotency_key, request_fingerprint
from eventkit.openapi import errors

from ..domain.catalog import SHANGHAI, PublishCatalogItem, PublishJointBundle, RetireCatalogItem
from ..domain.errors import parse_command
from .access import actor_of
from .case_flow import core_of
from .errors import refuse
from .models import CatalogWriteResult, EventRef, RetireRequest

router = APIRouter(prefix="/v1/catalog", tags=["catalog"], responses=errors(403, 404, 409))

CodePath = Path(pattern=r"^[A-Z]{2,4}-[0-9]{3}$", examples=["FP-002"])


class PublishItemRequest(CatalogItemVersion):
    """A whole version of an item. `version` defaults to the latest + 1 (1 for a new item)."""

    version: int | None = None  # type: ignore[assignment]


def _moment(at: date | None, now: datetime) -> datetime:
    """The end of the given local day (a version in force that day), or now."""
    if at is None:
        return now
    return datetime.combine(at, time(23, 59, 59), tzinfo=SHANGHAI)


def _item_json(item: CatalogItemVersion) -> dict[str, Any]:
    out = item.model_dump(mode="json")
    out["category_name_zh"] = CATEGORY_NAMES_ZH.get(item.category)
    out["fee_free"] = item.fee.free
    out["deposit_fen"] = item.deposit_fen
    return out


@router.get(
    "",
    summary="The public catalog: items in force, with materials, fees, time limits, and the "
    "joint bundles (联办) in force",
)
async def list_catalog(
    request: Request,
    category: Category | None = Query(default=None),
    at: Day | None = Query(default=None, description="The catalog as in force on this day"),
) -> dict[str, Any]:
    core = core_of(request)
    async with core.pool.acquire() as conn:
        cat = await core.catalog.current(conn)
    moment = _moment(at, core.clock())
    items = [i for i in cat.in_force(moment) if category is None or i.category == category]
    return {
        "at": moment.isoformat(),
        "categories": CATEGORY_NAMES_ZH,
        "items": [_item_json(i) for i in items],
        "bundles": [b.model_dump(mode="json") for b in cat.bundles_in_force(moment)],
    }


@router.get("/{code}", summary="One item: the version in force and every version published")
async def get_catalog_item(
    request: Request,
    code: str = CodePath,
    at: Day | None = Query(default=None),
) -> dict[str, Any]:
    core = core_of(request)
    async with core.pool.acquire() as conn:
        cat = await core.catalog.current(conn)
    history = cat.history(code)
    if history is None:
        raise refuse(404, "code", f"no service item with code {code}")
    moment = _moment(at, core.clock())
    current = history.in_force(moment)
    retired = history.retired
    return {
        "code": code,
        "at": moment.isoformat(),
        "item": _item_json(current) if current else None,
        "not_in_force_reason": None if current else cat.why_not_in_force(code, moment),
        "versions": [
            {
                "version": v.item.version,
                "effective_from": v.item.effective_from,
                "published_at": v.recorded_at,
                "item": _item_json(v.item),
            }
            for v in history.versions
        ],
        "retired": (
            {
                "retired_from": retired.effective_from,
                "reason": retired.reason,
                "recorded_at": retired.recorded_at,
            }
            if retired
            else None
        ),
    }


async def _write(
    request: Request,
    principal: Principal,
    key: str | None,
    body: Any,
    build: Any,
) -> Response:
    core = core_of(request)

    async def work(conn: asyncpg.Connection) -> tuple[int, Any]:
        command, extra = await build(conn)
        envs = await core.handle_catalog(conn, command, actor=actor_of(principal))
        result = CatalogWriteResult(
            events=[
                EventRef(
                    event_id=str(e.event_id),
                    event_type=e.event_type,
                    stream_version=e.stream_version,
                )
                for e in envs
            ],
            **extra,
        )
        return 201, result.model_dump(mode="json")

    result = await core.idempotency.run(
        scope=f"intake:{principal.sub}",
        key=key,
        request_hash=request_fingerprint("POST", request.url.path, body.model_dump(mode="json")),
        work=work,
        on_commit=core.runtime.wake_relay,
    )
    return result.response()


@router.post(
    "/items",
    status_code=201,
    response_model=CatalogWriteResult,
    summary="Publish a new version of an item (admins)",
)
async def publish_item(
    body: PublishItemRequest,
    request: Request,
    principal: Principal = Depends(require_roles("admin")),
    key: str | None = Depends(idempotency_key),
) -> Response:
    core = core_of(request)

    async def build(conn: asyncpg.Connection) -> tuple[PublishCatalogItem, dict[str, Any]]:
        version = body.version
        if version is None:
            history = (await core.catalog.current(conn)).history(body.code)
            latest = history.latest if history else None
            version = latest.item.version + 1 if latest else 1
        data = body.model_dump()
        data["version"] = version
        item = parse_command(CatalogItemVersion, data)
        cmd = PublishCatalogItem(item=item, actor=actor_of(principal))
        return cmd, {"code": item.code, "version": version, "effective_from": item.effective_from}

    return await _write(request, principal, key, body, build)


@router.post(
    "/items/{code}/retire",
    status_code=201,
    response_model=CatalogWriteResult,
    summary="Retire an item from a date (admins); cases already submitted are unaffected",
)
async def retire_item(
    body: RetireRequest,
    request: Request,
    code: str = CodePath,
    principal: Principal = Depends(require_roles("admin")),
    key: str | None = Depends(idempotency_key),
) -> Response:
    async def build(_conn: asyncpg.Connection) -> tuple[RetireCatalogItem, dict[str, Any]]:
        cmd = parse_command(
            RetireCatalogItem,
            {
                "code": code,
                "retired_from": body.retired_from,
                "reason": body.reason,
                "actor": actor_of(principal),
            },
        )
        return cmd, {"code": code, "retired_from": body.retired_from}

    return await _write(request, principal, key, body, build)


@router.post(
    "/bundles",
    status_code=201,
    response_model=CatalogWriteResult,
    summary="Publish a version of a joint bundle (联办事项, admins)",
)
async def publish_bundle(
    body: JointBundle,
    request: Request,
    principal: Principal = Depends(require_roles("admin")),
    key: str | None = Depends(idempotency_key),
) -> Response:
    """The members, the materials they share, the approval order, what a refusal does and
    how the result goes back; the members must be published items, not retired."""

    async def build(_conn: asyncpg.Connection) -> tuple[PublishJointBundle, dict[str, Any]]:
        cmd = PublishJointBundle(bundle=body, actor=actor_of(principal))
        return cmd, {
            "code": body.code,
            "version": body.version,
            "effective_from": body.effective_from,
        }

    return await _write(request, principal, key, body, build)
