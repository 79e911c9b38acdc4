"""eventkit.auth: a token of center staff names where they work (org_id and tier), or it is
no staff token at all.

Center staff act at a center: the first-inquiry responsible staff member (首问责任人) accepts
at their center, an officer decides for their office, a head watches their center and the
units below. A staff token without its center would let every service guess (or take from
the request body) where the person works, so it is refused when it is verified (401 with the
reason), in every service alike."""

from __future__ import annotations

import pytest

from eventkit.auth import (
    STAFF_ROLES,
    AuthError,
    AuthSettings,
    TokenVerifier,
    generate_private_key,
    mint_token,
    public_pem,
)

pytestmark = pytest.mark.unit

KEY = generate_private_key()
VERIFIER = TokenVerifier(AuthSettings(public_key=public_pem(KEY)))


def test_the_staff_roles_are_the_centers_staff() -> None:
    assert frozenset({"community_agent", "officer", "center_head"}) == STAFF_ROLES


@pytest.mark.parametrize("role", sorted(STAFF_ROLES))
def test_a_staff_token_needs_its_center_and_tier(role: str) -> None:
    ok = VERIFIER.verify_sync(
        mint_token(KEY, sub="staff.1", role=role, org_id="ruian.mayu.mabei", tier="community")
    )
    assert (ok.org_id, ok.tier) == ("ruian.mayu.mabei", "community")
    for org, tier, missing in (
        (None, "community", "org_id"),
        ("ruian.mayu.mabei", None, "tier"),
        (None, None, "org_id"),
        ("", "community", "org_id"),
        ("ruian.mayu.mabei", "province", "tier"),
    ):
        token = mint_token(KEY, sub="staff.1", role=role, org_id=org, tier=tier)
        with pytest.raises(AuthError, match=missing):
            VERIFIER.verify_sync(token)


def test_a_center_given_as_something_else_than_text_is_refused() -> None:
    token = mint_token(
        KEY, sub="s", role="officer", tier="town", extra={"org_id": ["ruian.mayu", "ruian"]}
    )
    with pytest.raises(AuthError, match="org_id"):
        VERIFIER.verify_sync(token)


@pytest.mark.parametrize("role", ["resident", "inspector", "admin"])
def test_other_roles_need_no_center(role: str) -> None:
    """A resident is no staff; inspectors and admins act for the whole city, not a center."""
    p = VERIFIER.verify_sync(mint_token(KEY, sub="someone", role=role))
    assert p.role == role and p.org_id is None
