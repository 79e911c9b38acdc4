"""纪检监察 pages (role `inspector`), read-only everywhere: search the trail, a case's whole
timeline, the anomalies with the rule that raised them, and for any event an inclusion proof
that the page itself checks in the browser (static/inspector/proof.js) against the signed
checkpoint and the log's published key — the portal only carries the bytes, it is not trusted.

Everything comes from audit's inspector and log APIs with the inspector's own token (each
query is itself recorded in the log by audit).
"""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from datetime import date, datetime, time
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from contracts.workdays import SHANGHAI

from ..forms import FormState, refused
from ..services_api import Api, ServiceError
from ..session import Person
from ..web import Audience, person_api, render, require

router = APIRouter(prefix="/inspector")
AUDIENCE = Audience("inspector", "纪检监察", router, roles={"inspector"}, home="/inspector")
Inspector = Depends(require("inspector"))

SEARCH_FIELDS = ("case", "staff", "org_id", "item_code", "event_type", "since", "until", "q")
"""The search form's fields; each is audit's own filter of the same name (since/until are
dates here, instants there)."""

SEVERITY_ZH = {"serious": "严重", "warning": "警示", "info": "提示"}


def _day(value: str, end: bool) -> str:
    d = date.fromisoformat(value)
    return datetime.combine(d, time(23, 59, 59) if end else time(0, 0), tzinfo=SHANGHAI).isoformat()


def _search_params(form: FormState) -> dict[str, Any]:
    """The audit filters from the form; a date that does not parse is marked beside its field."""
    params: dict[str, Any] = {}
    for name in SEARCH_FIELDS:
        v = str(form.values.get(name, "") or "").strip()
        if not v:
            continue
        if name in ("since", "until"):
            try:
                params[name] = _day(v, end=name == "until")
            except ValueError:
                form.error(name, "日期格式应为 年-月-日，例如 2026-12-01")
            continue
        if name == "event_type" and not v.endswith("*") and "." not in v:
            v += ".*"  # "routing" means every routing event
        params[name] = v
    return params


async def _directory(api: Api) -> dict[str, Any]:
    """Staff and units by id (names for the search's suggestions and the results); empty if
    the tree cannot be read: the search still works by id."""
    staff: dict[str, str] = {}
    units: dict[str, str] = {}
    try:
        tree = await api.get("routing", "/v1/org/tree")
    except ServiceError:
        return {"staff": staff, "units": units}

    def walk(u: dict[str, Any]) -> None:
        units[u["unit_id"]] = u["name_zh"]
        for s in u.get("staff", []):
            staff[s["staff_id"]] = f"{s['name_zh']}（{u['name_zh']}）"
        for ch in u.get("children", []):
            walk(ch)

    for u in tree.get("units", []) if isinstance(tree, dict) else tree:
        walk(u)
    return {"staff": staff, "units": units}


async def _rules(api: Api) -> dict[str, dict[str, Any]]:
    body = await api.get("audit", "/v1/inspect/rules")
    return {r["id"]: r for r in body["rules"]}


@router.get("")
async def home(request: Request, person: Person = Inspector) -> Response:
    """The search: by case, staff, office, item, time and text; results link to the case's
    timeline and to each event's proof."""
    api = person_api(request, person)
    q = request.query_params
    form = FormState(values={k: q.get(k, "") for k in SEARCH_FIELDS})
    searched = any(form.values.values())
    result: dict[str, Any] | None = None
    params = _search_params(form)
    after = q.get("after")
    refusal: ServiceError | None = None

    async def search() -> dict[str, Any] | None:
        nonlocal refusal
        if not (searched and form.ok):
            return None
        try:
            return await api.get(
                "audit", "/v1/inspect/events", **params, after=after or None, limit=50
            )
        except ServiceError as exc:
            if exc.status >= 500 or exc.status in (401, 403):
                raise
            refusal = exc
            return None

    # the four reads are independent: the page waits for the slowest, not their sum
    result, anomalies, directory, rules = await asyncio.gather(
        search(),
        api.get("audit", "/v1/inspect/anomalies", limit=5),
        _directory(api),
        _rules(api),
    )
    if refusal is not None:
        form = refused(form, refusal, {k: k for k in SEARCH_FIELDS})
    next_query = None
    if result and result.get("next_after") is not None:
        next_query = {**{k: v for k, v in form.values.items() if v}, "after": result["next_after"]}
    return render(
        request,
        "inspector/home.html",
        audience=AUDIENCE,
        form=form,
        searched=searched,
        result=result,
        next_query=next_query,
        directory=directory,
        recent_anomalies=anomalies["items"],
        rules=rules,
    )


@router.get("/cases/{case_id}")
async def case(request: Request, case_id: str, person: Person = Inspector) -> Response:
    """A case's full timeline across services and tiers, with its anomalies."""
    api = person_api(request, person)
    body, rules, directory = await asyncio.gather(
        api.get("audit", f"/v1/inspect/cases/{case_id}"), _rules(api), _directory(api)
    )
    return render(
        request,
        "inspector/case.html",
        audience=AUDIENCE,
        case=body,
        rules=rules,
        directory=directory,
    )


@router.get("/anomalies")
async def anomalies(request: Request, person: Person = Inspector) -> Response:
    """Every anomaly flagged, with the rule that raised it (its description and severity)."""
    api = person_api(request, person)
    rule = request.query_params.get("rule") or None
    after = request.query_params.get("after") or None
    body, rules = await asyncio.gather(
        api.get("audit", "/v1/inspect/anomalies", rule=rule, after=after, limit=100), _rules(api)
    )
    return render(
        request,
        "inspector/anomalies.html",
        audience=AUDIENCE,
        items=body["items"],
        next_after=body.get("next_after"),
        rule=rule,
        rules=rules,
        severity_zh=SEVERITY_ZH,
    )


READ_FIELDS = ("case_id", "subject_id", "reader_id")
"""The reads' filters; each is intake's own of the same name."""
READS_PAGE = 100


@router.get("/reads")
async def personal_data_reads(request: Request, person: Person = Inspector) -> Response:
    """个人信息查阅记录 (PIPL): who read which resident's personal data in the clear, through
    which endpoint and when (intake's record, `GET /v1/personal-data/reads`); residents appear
    only as their pseudonymous subject."""
    api = person_api(request, person)
    q = request.query_params
    form = FormState(values={k: q.get(k, "").strip() for k in READ_FIELDS})
    try:
        offset = max(0, int(q.get("offset") or 0))
    except ValueError:
        offset = 0
    items: list[dict[str, Any]] = []
    try:
        got = await api.get(
            "intake",
            "/v1/personal-data/reads",
            **{k: v for k, v in form.values.items() if v},
            limit=READS_PAGE,
            offset=offset,
        )
        items = got["items"]
    except ServiceError as exc:
        if exc.status >= 500 or exc.status in (401, 403):
            raise
        form = refused(form, exc, {k: k for k in READ_FIELDS})
    filters = {k: v for k, v in form.values.items() if v}
    return render(
        request,
        "inspector/reads.html",
        audience=AUDIENCE,
        form=form,
        items=items,
        prev_query={**filters, "offset": max(0, offset - READS_PAGE)} if offset else None,
        next_query={**filters, "offset": offset + READS_PAGE} if len(items) == READS_PAGE else None,
    )


@router.get("/events/{event_id}")
async def event_proof(
    request: Request, event_id: uuid.UUID, person: Person = Inspector
) -> Response:
    """One event and its inclusion proof, checked in the browser against the signed
    checkpoint of the proof's tree size and the log's published key."""
    api = person_api(request, person)
    r = await api.request(
        "audit",
        "GET",
        "/v1/log/proof/inclusion",
        params={"event_id": str(event_id)},
        allow=(409,),
    )
    if r.status_code == 409:
        return render(
            request,
            "inspector/proof.html",
            audience=AUDIENCE,
            pending=True,
            event_id=str(event_id),
            data=None,
        )
    proof = r.json()
    note, public_key, keys = await asyncio.gather(
        api.get_text("audit", "/v1/log/checkpoint", size=proof["tree_size"], cosigned="true"),
        api.get_text("audit", "/v1/log/public-key"),
        api.get("audit", "/v1/log/keys"),
    )
    public_key = public_key.strip()
    leaf: dict[str, Any] | None
    try:
        leaf = json.loads(base64.b64decode(proof.get("leaf") or ""))
    except ValueError:
        leaf = None
    data = {
        "event_id": proof["event_id"],
        "leaf_index": proof["leaf_index"],
        "tree_size": proof["tree_size"],
        "leaf": proof.get("leaf", ""),
        "leaf_hash": proof["leaf_hash"],
        "proof": proof["proof"],
        "checkpoint": note,
        "public_key": public_key,
        "origin": keys["origin"],
    }
    return render(
        request,
        "inspector/proof.html",
        audience=AUDIENCE,
        pending=False,
        event_id=str(event_id),
        data=data,
        # JSON inside <script>: no "<" at all, so no "</script" or "<!--" can end or bend it
        data_json=json.dumps(data, ensure_ascii=False).replace("<", "\\u003c"),
        leaf=leaf,
        leaf_pretty=json.dumps(leaf, ensure_ascii=False, indent=2, sort_keys=True) if leaf else "",
    )
