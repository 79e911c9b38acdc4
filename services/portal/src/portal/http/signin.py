"""Sign-in and sign-out pages (development sign-in and OIDC)."""

from __future__ import annotations

import re
import time
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from eventkit.personal_data import new_account_id

from ..forms import form_state, read_form
from ..services_api import ServiceError
from ..session import sign_in, sign_out, signed_in
from ..signin import ClaimsError, DevMinter, DevPerson, dev_people, person_from_claims
from ..web import Audience, render

router = APIRouter()
AUDIENCE = Audience("signin", "登录", router)

ID_NUMBER = re.compile(r"^[0-9]{17}[0-9X]$")


def _safe_next(value: Any) -> str:
    """Only a path of this site (never another site: an open redirect)."""
    if isinstance(value, str) and value.startswith("/") and not value.startswith("//"):
        return value
    return "/"


def _home_of(request: Request, role: str) -> str:
    for a in request.app.state.audiences:
        if a.home and role in a.roles:
            return str(a.home)
    return "/"


DEV_PEOPLE_TTL_S = 60.0


async def _people(request: Request) -> list[DevPerson]:
    """The seeded people to pick from (development sign-in only), read from routing's org
    tree at most once a minute: the tree is hundreds of people, and the page is opened by
    every developer at every sign-in."""
    minter: DevMinter | None = request.app.state.minter
    if minter is None:
        return []
    now = time.monotonic()
    cached = getattr(request.app.state, "dev_people", None)
    if cached is not None and cached[0] > now:
        people: list[DevPerson] = cached[1]
        return people
    # the org tree is for signed-in callers: the development key reads it as an admin
    token = minter.token("portal.dev-signin", "admin", "ruian", "city", time.time())
    try:
        tree = await request.app.state.clients.as_person(token).get("routing", "/v1/org/tree")
    except ServiceError:
        return dev_people({"units": []})  # routing not up yet: residents can still sign in
    people = dev_people(tree)
    request.app.state.dev_people = (now + DEV_PEOPLE_TTL_S, people)
    return people


@router.get("/signin")
async def signin_page(request: Request, next: str = "/") -> Response:
    people = await _people(request)
    by_role: dict[str, list[DevPerson]] = {}
    for p in people:
        by_role.setdefault(p.role, []).append(p)
    return render(
        request,
        "signin/signin.html",
        next=_safe_next(next),
        people_by_role=by_role,
        form=form_state(),
    )


@router.post("/signin/dev")
async def signin_dev(request: Request) -> Response:
    minter: DevMinter | None = request.app.state.minter
    if minter is None:
        raise HTTPException(404, detail="开发登录未开启（PORTAL_DEV_SIGNIN）")
    form = await read_form(request)
    nxt = _safe_next(form.values.get("next"))
    kind = form.values.get("kind")
    if kind == "resident":
        name = str(form.values.get("name", "")).strip()
        id_number = str(form.values.get("id_number", "")).strip().upper()
        if not name:
            form.error("name", "请填写姓名")
        if not ID_NUMBER.match(id_number):
            form.error("id_number", "身份证号应为18位（最后一位可为X）")
        if not form.ok:
            people = await _people(request)
            by_role: dict[str, list[DevPerson]] = {}
            for p in people:
                by_role.setdefault(p.role, []).append(p)
            return render(
                request,
                "signin/signin.html",
                status_code=422,
                next=nxt,
                people_by_role=by_role,
                form=form,
            )
        # 浙里办's shape: a pseudonymous account as `sub`, the ID number a claim for intake
        chosen = DevPerson(new_account_id(), "resident", name, None, None, None, id_number)
    else:
        key = str(form.values.get("person", ""))
        chosen_or_none = next((p for p in await _people(request) if p.key == key), None)
        if chosen_or_none is None:
            people = await _people(request)
            by_role = {}
            for p in people:
                by_role.setdefault(p.role, []).append(p)
            form.error("person", "请选择一位人员")
            return render(
                request,
                "signin/signin.html",
                status_code=422,
                next=nxt,
                people_by_role=by_role,
                form=form,
            )
        chosen = chosen_or_none
    sign_in(request, minter.person(chosen))
    return RedirectResponse(nxt if nxt != "/" else _home_of(request, chosen.role), status_code=303)


@router.get("/signin/oidc")
async def signin_oidc(request: Request, next: str = "/") -> Response:
    oauth = request.app.state.oauth
    if oauth is None:
        raise HTTPException(404, detail="统一身份认证未配置（PORTAL_OIDC_*）")
    request.session["oidc_next"] = _safe_next(next)
    redirect_uri = str(request.url_for("signin_oidc_callback"))
    resp: Response = await oauth.idp.authorize_redirect(request, redirect_uri)
    return resp


@router.get("/signin/oidc/callback", name="signin_oidc_callback")
async def signin_oidc_callback(request: Request) -> Response:
    from authlib.integrations.base_client.errors import OAuthError

    oauth = request.app.state.oauth
    if oauth is None:
        raise HTTPException(404, detail="统一身份认证未配置（PORTAL_OIDC_*）")
    settings = request.app.state.settings
    try:
        token = await oauth.idp.authorize_access_token(request)
    except OAuthError as exc:
        raise HTTPException(
            401, detail=f"统一身份认证失败：{exc.description or exc.error}"
        ) from None
    claims = dict(token.get("userinfo") or {})
    service_token = token.get(settings.oidc_token)
    if not service_token:
        raise HTTPException(401, detail=f"身份认证未返回 {settings.oidc_token}")
    expires_at = float(token.get("expires_at") or claims.get("exp") or time.time() + 3600)
    try:
        person = person_from_claims(claims, service_token, expires_at, settings)
    except ClaimsError as exc:
        raise HTTPException(403, detail=f"身份信息不完整：{exc}") from None
    nxt = _safe_next(request.session.pop("oidc_next", "/"))
    sign_in(request, person)
    return RedirectResponse(nxt if nxt != "/" else _home_of(request, person.role), status_code=303)


@router.post("/signout")
async def signout(request: Request) -> Response:
    await read_form(request)
    sign_out(request)
    return RedirectResponse("/", status_code=303)


@router.get("/me")
async def me(request: Request) -> Response:
    person = signed_in(request)
    if person is None:
        return RedirectResponse("/signin", status_code=303)
    return RedirectResponse(_home_of(request, person.role), status_code=303)
