"""Who is signed in, kept in the signed session cookie (HttpOnly, SameSite=Lax).

The cookie is Starlette's `SessionMiddleware` (itsdangerous-signed with PORTAL_SESSION_SECRET):
the portal keeps no server-side state, so any number of portal instances serve the same
people. It holds the person's name, role, center, tier and the bearer token the services
get — the same token the person would present themselves — and the CSRF secret.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

from starlette.requests import Request

ROLE_ZH = {
    "resident": "群众",
    "community_agent": "窗口代办员",
    "officer": "审批人员",
    "center_head": "中心主任",
    "inspector": "纪检监察",
    "admin": "系统管理员",
    "service": "系统服务",
}
TIER_ZH = {"community": "村（社区）", "town": "乡镇（街道）", "city": "市"}


@dataclass(frozen=True)
class Person:
    """The signed-in person, as their token says."""

    sub: str
    role: str
    name: str
    token: str
    expires_at: float
    org_id: str | None = None
    tier: str | None = None
    org_name: str | None = None
    via: str = "dev"  # "dev" or "oidc"

    @property
    def role_zh(self) -> str:
        return ROLE_ZH.get(self.role, self.role)

    @property
    def tier_zh(self) -> str:
        return TIER_ZH.get(self.tier or "", "")

    def expired(self, now: float | None = None) -> bool:
        return (now if now is not None else time.time()) >= self.expires_at


def signed_in(request: Request) -> Person | None:
    raw = request.session.get("person")
    if not isinstance(raw, dict):
        return None
    try:
        person = Person(**raw)
    except TypeError:
        request.session.pop("person", None)
        return None
    if person.expired():
        request.session.pop("person", None)
        return None
    return person


def sign_in(request: Request, person: Person) -> None:
    csrf = request.session.get("csrf")
    request.session.clear()  # a new person gets a new session (no fixation)
    if csrf:
        request.session["csrf"] = csrf
    request.session["person"] = asdict(person)


def sign_out(request: Request) -> None:
    request.session.clear()


def session_dict(person: Person) -> dict[str, Any]:
    return asdict(person)
