"""What every page module uses: its `Audience`, the templates, the person and their `Api`.

A page module (`portal.http.<audience>`) declares::

    router = APIRouter(prefix="/resident")
    AUDIENCE = Audience("resident", "群众", router, roles={"resident"}, home="/resident")

and is named once in `portal.http.AUDIENCES`. Its pages render `render(request,
"<audience>/<page>.html", ...)`; the base layout adds the person, the CSRF token and the
navigation of every audience the person may use.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from . import casework as cw
from .forms import csrf_token, explain
from .services_api import Api, ServiceClients
from .session import ROLE_ZH, Person, signed_in

TEMPLATES_DIR = Path(__file__).parent / "templates"
LABELS_ZH: dict[str, Any] = {
    "application_status_zh": cw.APPLICATION_STATUS_ZH,
    "queue_status_zh": cw.QUEUE_STATUS_ZH,
    "joint_hold_zh": cw.JOINT_HOLD_ZH,
    "form_zh": cw.FORM_ZH,
    "missing_zh": cw.MISSING_ZH,
    "tier_zh": cw.TIER_ZH,
    "case_type_zh": cw.CASE_TYPE_ZH,
    "decision_zh": cw.DECISION_ZH,
    "delivery_zh": cw.DELIVERY_ZH,
    "score_zh": cw.SCORE_ZH,
    "event_zh": cw.event_zh,
    "role_zh": ROLE_ZH,
}
"""The centers' words for statuses, forms and trail events (`casework`), registered once as
template globals: every page names them without passing them (a page may still pass its
own table under the same name, e.g. the public pages' longer tier names)."""
_CSRF: ContextVar[str] = ContextVar("portal_csrf", default="")
"""The CSRF token of the page being rendered: macros imported without context (the
`guard` of _forms.html) read it through the `current_csrf()` global."""


@dataclass(frozen=True)
class Audience:
    """One audience's pages: who may open them, where they start, the nav entries."""

    name: str
    title_zh: str
    router: APIRouter
    roles: frozenset[str] = frozenset()  # empty: public, no sign-in
    home: str | None = None
    nav: tuple[tuple[str, str], ...] = field(default=())  # (path, label) for the top bar

    def __init__(
        self,
        name: str,
        title_zh: str,
        router: APIRouter,
        *,
        roles: set[str] | frozenset[str] = frozenset(),
        home: str | None = None,
        nav: tuple[tuple[str, str], ...] = (),
    ) -> None:
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "title_zh", title_zh)
        object.__setattr__(self, "router", router)
        object.__setattr__(self, "roles", frozenset(roles))
        object.__setattr__(self, "home", home)
        object.__setattr__(self, "nav", nav)


def make_templates() -> Jinja2Templates:
    t = Jinja2Templates(directory=str(TEMPLATES_DIR))
    t.env.filters["yuan"] = yuan
    t.env.filters["pct"] = lambda v: "—" if v is None else f"{v:.1f}%"
    t.env.globals["current_csrf"] = _CSRF.get
    t.env.globals["explain"] = explain
    t.env.globals.update(LABELS_ZH)
    return t


def yuan(fen: int | None) -> str:
    """Fen as yuan, the way a fee standard is written (3000元, 12.50元)."""
    if fen is None:
        return "—"
    whole, cents = divmod(int(fen), 100)
    return f"{whole}元" if cents == 0 else f"{whole}.{cents:02d}元"


def clients(request: Request) -> ServiceClients:
    c: ServiceClients = request.app.state.clients
    return c


def public_api(request: Request) -> Api:
    """The services as the public sees them (no token)."""
    return clients(request).as_person(None)


def person_api(request: Request, person: Person) -> Api:
    return clients(request).as_person(person.token)


class SignInRequired(Exception):
    """Raised by `require`: the app answers with a redirect to the sign-in page."""

    def __init__(self, next_path: str) -> None:
        self.next_path = next_path


def require(*roles: str) -> Callable[[Request], Coroutine[Any, Any, Person]]:
    """Dependency: the signed-in person, with one of `roles` (sign-in page or 403 otherwise).
    The services check again on every call: this only spares a page that would be refused."""
    allowed = frozenset(roles)

    async def dependency(request: Request) -> Person:
        person = signed_in(request)
        if person is None:
            raise SignInRequired(
                request.url.path + (f"?{request.url.query}" if request.url.query else "")
            )
        if allowed and person.role not in allowed:
            raise HTTPException(403, detail=f"此页面仅供{'、'.join(sorted(allowed))}使用")
        return person

    return dependency


def signin_redirect(next_path: str) -> RedirectResponse:
    return RedirectResponse(f"/signin?next={quote(next_path, safe='/')}", status_code=303)


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    person = signed_in(request)
    audiences: list[Audience] = request.app.state.audiences
    mine = [a for a in audiences if a.home and person is not None and person.role in a.roles]
    base = {
        "person": person,
        "csrf_token": csrf_token(request),
        "my_audiences": mine,
        "dev_signin": request.app.state.settings.dev_signin,
        "oidc": request.app.state.settings.oidc_enabled,
        "hx": request.headers.get("hx-request") == "true",
    }
    templates: Jinja2Templates = request.app.state.templates
    _CSRF.set(base["csrf_token"])  # TemplateResponse renders now, in this context
    return templates.TemplateResponse(
        request, template, {**base, **context}, status_code=status_code
    )
