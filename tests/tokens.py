"""Tokens as the tests mint them: a resident named by their ID number gets 浙里办's shape, a
pseudonymous account as `sub` and the ID number in the `id_number` claim (issue 15:
`eventkit.auth` refuses a `sub` that holds an ID number)."""

from __future__ import annotations

from typing import Any

from eventkit.auth import mint_resident_token, mint_token
from eventkit.personal_data import holds_id_number


def mint(
    private_key: Any,
    sub: str,
    role: str,
    org: str | None = None,
    tier: str | None = None,
    **kwargs: Any,
) -> str:
    """`sub` may be a resident's ID number: it then goes in the `id_number` claim only."""
    if role == "resident" and holds_id_number(sub):
        return mint_resident_token(private_key, sub, **kwargs)
    return mint_token(private_key, sub=sub, role=role, org_id=org, tier=tier, **kwargs)
