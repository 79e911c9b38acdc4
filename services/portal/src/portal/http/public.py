"""Public pages, no sign-in (阳光运作): the service guide, the centers and their record, the
hall display, and the audit log's signed checkpoint with how anyone verifies it.

Everything comes from the public endpoints: intake's catalog and centers, audit's board and
log. The board answers center ids; the names come from intake's centers.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from contracts.workdays import SHANGHAI

from ..services_api import Api, ServiceError
from ..web import Audience, public_api, render

router = APIRouter()
AUDIENCE = Audience("public", "公开", router)

TIER_ZH = {
    "community": "村（社区）便民服务中心",
    "town": "乡镇（街道）便民服务中心",
    "city": "市行政审批服务中心",
}
TIER_SHORT = {"community": "村（社区）", "town": "乡镇（街道）", "city": "市"}
CASE_TYPE_ZH = {"same_day": "即办件", "promised": "承诺件"}
FORM_ZH = {"original": "原件", "copy": "复印件"}
WEEKDAY_ZH = ["周一", "周二", "周三", "周四", "周五", "周六", "周日"]
HALL_PANELS = ("board", "guide", "log")
HALL_SECONDS = 12


def month_range(now: datetime) -> tuple[datetime, datetime]:
    """This month in Rui'an, as instants: [first day 00:00, first of next month 00:00)."""
    local = now.astimezone(SHANGHAI)
    start = datetime.combine(local.date().replace(day=1), time(0), tzinfo=SHANGHAI)
    nxt = (start + timedelta(days=32)).replace(day=1)
    return start, nxt


async def catalog(api: Api) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = (await api.get("intake", "/v1/catalog"))["items"]
    return sorted(items, key=lambda i: (i.get("category", ""), i["code"]))


async def centers(api: Api) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = (await api.get("intake", "/v1/centers"))["items"]
    return rows


async def board_this_month(api: Api, now: datetime) -> dict[str, dict[str, Any]]:
    since, until = month_range(now)
    got = await api.get(
        "audit", "/v1/board/centers", since=since.isoformat(), until=until.isoformat()
    )
    return {r["id"]: r for r in got["rows"]}


def named_board(
    board: dict[str, dict[str, Any]], units: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The board's rows with each center's name, tier and kind (the board answers ids)."""
    by_id = {u["unit_id"]: u for u in units}
    rows = []
    for unit_id, figures in board.items():
        u = by_id.get(unit_id, {})
        rows.append(
            {
                **figures,
                "unit_id": unit_id,
                "name_zh": u.get("name_zh") or unit_id,
                "tier": u.get("tier"),
                "kind": u.get("kind"),
            }
        )
    order = {"city": 0, "town": 1, "community": 2}
    rows.sort(key=lambda r: (order.get(r["tier"] or "", 3), r["unit_id"]))
    return rows


def hours_rows(office_hours: dict[str, Any] | None) -> list[tuple[str, str]]:
    """Opening hours as (day, "08:30–12:00、13:30–17:30") lines, Monday first."""
    if not office_hours:
        return []
    weekly = office_hours.get("weekly") or {}
    out = []
    for d in range(7):
        spans = weekly.get(str(d)) or []
        text = "、".join(f"{s['opens'][:5]}–{s['closes'][:5]}" for s in spans)
        out.append((WEEKDAY_ZH[d], text or "休息"))
    return out


def _today() -> datetime:
    return datetime.now(UTC)


@router.get("/")
async def home(request: Request) -> Response:
    api = public_api(request)
    items = await catalog(api)
    return render(request, "public/home.html", items=items[:8], count=len(items))


@router.get("/guide")
async def guide(request: Request, q: str = "") -> Response:
    items = await catalog(public_api(request))
    if q.strip():
        needle = q.strip()
        items = [i for i in items if needle in i["name_zh"] or needle.upper() in i["code"]]
    by_category: dict[str, list[dict[str, Any]]] = {}
    for i in items:
        by_category.setdefault(i.get("category_name_zh") or i["category"], []).append(i)
    return render(
        request,
        "public/guide.html",
        by_category=by_category,
        q=q,
        tier_short=TIER_SHORT,
        case_type_zh=CASE_TYPE_ZH,
    )


@router.get("/guide/{code}")
async def guide_item(request: Request, code: str) -> Response:
    api = public_api(request)
    item = await api.get("intake", f"/v1/catalog/{code}")
    current = item.get("current") or item.get("item") or item
    return render(
        request,
        "public/guide_item.html",
        item=current,
        versions=item.get("versions", []),
        tier_zh=TIER_ZH,
        tier_short=TIER_SHORT,
        case_type_zh=CASE_TYPE_ZH,
        form_zh=FORM_ZH,
    )


@router.get("/centers")
async def centers_page(request: Request) -> Response:
    api = public_api(request)
    units, board = await asyncio.gather(centers(api), board_this_month(api, _today()))
    tiers: dict[str, list[dict[str, Any]]] = {"city": [], "town": [], "community": []}
    for u in units:
        tiers.setdefault(u["tier"], []).append({**u, "figures": board.get(u["unit_id"])})
    return render(
        request, "public/centers.html", tiers=tiers, tier_zh=TIER_ZH, month=month_range(_today())[0]
    )


@router.get("/centers/{unit_id}")
async def center_page(request: Request, unit_id: str) -> Response:
    api = public_api(request)
    units, board, profile = await asyncio.gather(
        centers(api), board_this_month(api, _today()), center_profile(api, unit_id)
    )
    unit = next((u for u in units if u["unit_id"] == unit_id), None)
    if unit is None:
        raise ServiceError("intake", 404, "unit_id", f"没有编号为 {unit_id} 的便民服务中心")
    parent = next((u for u in units if u["unit_id"] == unit.get("parent_id")), None)
    children = [u for u in units if u.get("parent_id") == unit_id]
    return render(
        request,
        "public/center.html",
        unit=unit,
        parent=parent,
        children=children,
        figures=board.get(unit_id),
        profile=profile,
        hours=hours_rows(profile.get("office_hours") if profile else None),
        tier_zh=TIER_ZH,
        month=month_range(_today())[0],
    )


async def center_profile(api: Api, unit_id: str) -> dict[str, Any] | None:
    """The center's public profile (hours, service lines, access note) from intake's
    projection of routing's org tree (404: no such center)."""
    try:
        got: dict[str, Any] = await api.get("intake", f"/v1/centers/{unit_id}")
    except ServiceError as exc:
        if exc.status in (404, 422):
            return None
        raise
    return got


def _seconds(seconds: int | None) -> int:
    """How long each panel stays (`?seconds=`, 2-300; each hall sets its own pace)."""
    return HALL_SECONDS if seconds is None else max(2, min(300, seconds))


@router.get("/hall")
async def hall(request: Request, seconds: int | None = None) -> Response:
    """The hall's electronic guide screen: full screen, rotates its panels by itself and
    fetches each one afresh (HTMX polling), so the figures follow the day."""
    return render(
        request, "public/hall.html", seconds=_seconds(seconds), **await _hall_panel(request, 0)
    )


@router.get("/hall/panel")
async def hall_panel(request: Request, i: int = 0, seconds: int | None = None) -> Response:
    return render(
        request,
        "public/hall_panel.html",
        seconds=_seconds(seconds),
        **await _hall_panel(request, i),
    )


async def _hall_panel(request: Request, i: int) -> dict[str, Any]:
    api = public_api(request)
    i = i % len(HALL_PANELS)
    kind = HALL_PANELS[i]
    ctx: dict[str, Any] = {
        "panel": kind,
        "next_i": (i + 1) % len(HALL_PANELS),
        "shown_at": datetime.now(SHANGHAI).strftime("%H:%M:%S"),
    }
    if kind == "board":
        units, board = await asyncio.gather(centers(api), board_this_month(api, _today()))
        ctx["rows"] = named_board(board, units)
        ctx["month"] = month_range(_today())[0]
    elif kind == "guide":
        ctx["items"] = await catalog(api)
        ctx["tier_short"] = TIER_SHORT
        ctx["case_type_zh"] = CASE_TYPE_ZH
    else:
        ctx["checkpoint"] = await latest_checkpoint(api)
    return ctx


async def latest_checkpoint(api: Api) -> dict[str, Any] | None:
    try:
        note = await api.get_text("audit", "/v1/log/checkpoint")
    except ServiceError as exc:
        if exc.status in (404, 503):
            return None
        raise
    lines = note.split("\n")
    body = lines[:3]
    sigs = [ln[2:] for ln in lines[4:] if ln.startswith("— ")]
    return {
        "note": note,
        "origin": body[0] if body else "",
        "size": int(body[1]) if len(body) > 1 and body[1].isdigit() else None,
        "root": body[2] if len(body) > 2 else "",
        "signers": [s.split(" ", 1)[0] for s in sigs],
    }


@router.get("/transparency")
async def transparency(request: Request) -> Response:
    api = public_api(request)
    cp, keys = await asyncio.gather(latest_checkpoint(api), api.get("audit", "/v1/log/keys"))
    return render(
        request,
        "public/transparency.html",
        checkpoint=cp,
        keys=keys,
        audit_url=request.app.state.settings.audit_url,
    )


@router.get("/transparency/checkpoint.txt")
async def checkpoint_txt(request: Request) -> Response:
    note = await public_api(request).get_text("audit", "/v1/log/checkpoint")
    return Response(note, media_type="text/plain; charset=utf-8")
