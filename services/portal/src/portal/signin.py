"""Signing in: development sign-in (pick a seeded person) and OIDC (production).

Development (`PORTAL_DEV_SIGNIN`, on under `make run` only): the sign-in page lists the
seeded staff of routing's org tree (name, role, center), a discipline inspector, an
administrator, and takes any resident's name and ID number; the portal mints that person's
token with the development key (`.local/dev-jwt.pem`), exactly as
`python -m eventkit.auth mint` does for the README's examples.

Production: OIDC authorization code with Authlib. The provider's claims name the role, the
center and its tier (`PORTAL_OIDC_*_CLAIM`); the token the services get is the provider's
(`PORTAL_OIDC_TOKEN`), which they verify with `AUTH_JWKS_URL`, so the portal mints nothing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eventkit.auth import ROLES, STAFF_ROLES, TIERS, load_private_key, mint_token

from .session import Person
from .settings import Settings

DEV_TTL_S = 8 * 3600

DEV_EXTRA = (
    ("ruian.inspector1", "inspector", "ruian", "city", "纪检监察员（开发）"),
    ("admin.ops", "admin", "ruian", "city", "系统管理员（开发）"),
)


@dataclass(frozen=True)
class DevPerson:
    """A person one may sign in as under development sign-in."""

    sub: str
    role: str
    name: str
    org_id: str | None
    tier: str | None
    org_name: str | None
    id_number: str | None = None
    """A resident's real-name ID number: the token's `id_number` claim (only intake reads
    it); their `sub` is a pseudonymous account id (`eventkit.auth` refuses an ID number)."""

    @property
    def key(self) -> str:
        return f"{self.role}|{self.sub}|{self.org_id or ''}"


class DevMinter:
    """Mints development tokens with the development key (never configured in production)."""

    def __init__(self, key_file: Path) -> None:
        self._key = load_private_key(key_file.read_text(encoding="utf-8"))

    def token(
        self,
        sub: str,
        role: str,
        org_id: str | None,
        tier: str | None,
        now: float,
        id_number: str | None = None,
    ) -> str:
        return mint_token(
            self._key,
            sub=sub,
            role=role,
            org_id=org_id,
            tier=tier,
            ttl_seconds=DEV_TTL_S,
            now=now,
            extra={"id_number": id_number} if id_number is not None else None,
        )

    def person(self, p: DevPerson, now: float | None = None) -> Person:
        at = now if now is not None else time.time()
        return Person(
            sub=p.sub,
            role=p.role,
            name=p.name,
            token=self.token(p.sub, p.role, p.org_id, p.tier, at, p.id_number),
            expires_at=at + DEV_TTL_S,
            org_id=p.org_id,
            tier=p.tier,
            org_name=p.org_name,
            via="dev",
        )


def dev_people(tree: dict[str, Any]) -> list[DevPerson]:
    """Every seeded staff member of the org tree, once per role they hold, by center."""
    out: list[DevPerson] = []

    def walk(unit: dict[str, Any]) -> None:
        for s in unit.get("staff", []):
            for role in s.get("roles", []):
                if role in ROLES:
                    out.append(
                        DevPerson(
                            sub=s["staff_id"],
                            role=role,
                            name=s.get("name_zh") or s["staff_id"],
                            org_id=unit["unit_id"],
                            tier=unit.get("tier"),
                            org_name=unit.get("name_zh"),
                        )
                    )
        for child in unit.get("children", []) or []:
            walk(child)

    for unit in tree.get("units", []):
        walk(unit)
    names = {p.org_id: p.org_name for p in out}
    for sub, role, org, tier, name in DEV_EXTRA:
        out.append(DevPerson(sub, role, name, org, tier, names.get(org, "瑞安市行政审批服务中心")))
    return out


class ClaimsError(ValueError):
    """The identity provider's claims do not name a role the services know (or a staff
    member's center and tier)."""


def person_from_claims(
    claims: dict[str, Any], token: str, expires_at: float, settings: Settings
) -> Person:
    """The signed-in person from the provider's claims (`PORTAL_OIDC_*_CLAIM`)."""
    role = claims.get(settings.oidc_role_claim)
    if not isinstance(role, str) or role not in ROLES:
        raise ClaimsError(
            f"claim {settings.oidc_role_claim!r} must be one of {sorted(ROLES)}, not {role!r}"
        )
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub:
        raise ClaimsError("claim 'sub' is missing")
    org = claims.get(settings.oidc_org_claim)
    tier = claims.get(settings.oidc_tier_claim)
    if role in STAFF_ROLES:
        if not isinstance(org, str) or not org:
            raise ClaimsError(f"a {role} must name a center (claim {settings.oidc_org_claim!r})")
        if tier not in TIERS:
            raise ClaimsError(f"a {role} must name a tier (claim {settings.oidc_tier_claim!r})")
    name = claims.get(settings.oidc_name_claim)
    return Person(
        sub=sub,
        role=role,
        name=name if isinstance(name, str) and name else sub,
        token=token,
        expires_at=expires_at,
        org_id=org if isinstance(org, str) else None,
        tier=tier if isinstance(tier, str) else None,
        via="oidc",
    )
