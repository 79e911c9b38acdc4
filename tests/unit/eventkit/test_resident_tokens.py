"""eventkit.auth: a token never names anyone by ID number (issue 15).

A resident's token is 浙里办's shape: `sub` is a pseudonymous account id, the real-name ID
number is the `id_number` claim, which only intake reads (and replaces, for everything it
writes, by the resident's subject). A token whose `sub` holds an ID number is refused when
it is verified, in every service and in every mode (401 naming `sub`): a `sub` is what
services write as an actor, an idempotency scope or a log field, where it cannot be deleted."""

from __future__ import annotations

import jwt
import pytest

from eventkit.auth import (
    AuthError,
    AuthSettings,
    TokenVerifier,
    generate_private_key,
    mint_resident_token,
    mint_token,
    public_pem,
)
from eventkit.personal_data import holds_id_number, new_account_id

pytestmark = pytest.mark.unit

KEY = generate_private_key()
VERIFIER = TokenVerifier(AuthSettings(public_key=public_pem(KEY)))
ID_NUMBER = "330381199004151239"


def test_a_resident_token_carries_the_id_number_as_a_claim_under_a_pseudonymous_sub() -> None:
    token = mint_resident_token(KEY, ID_NUMBER)
    p = VERIFIER.verify_sync(token)
    assert p.role == "resident" and p.claims["id_number"] == ID_NUMBER
    assert p.sub.startswith("acct-") and not holds_id_number(p.sub)
    # fresh per token unless the account is given
    assert VERIFIER.verify_sync(mint_resident_token(KEY, ID_NUMBER)).sub != p.sub
    given = VERIFIER.verify_sync(mint_resident_token(KEY, ID_NUMBER, account_id="acct-1"))
    assert given.sub == "acct-1"


@pytest.mark.parametrize(
    "sub",
    [ID_NUMBER, "33038119900415123X", "33038119900415123x", "resident.330381199004151239"],
)
@pytest.mark.parametrize("role", ["resident", "officer", "admin"])
def test_a_sub_holding_an_id_number_is_refused_naming_sub(sub: str, role: str) -> None:
    staff = {"org_id": "ruian.mayu.mabei", "tier": "community"} if role == "officer" else {}
    token = mint_token(KEY, sub=sub, role=role, **staff)  # type: ignore[arg-type]
    with pytest.raises(AuthError, match=r"sub must be a pseudonymous account id"):
        VERIFIER.verify_sync(token)


@pytest.mark.parametrize(
    "sub", ["acct-1", "subj-" + "0" * 32, "ruian.mayu.mabei.agent1", "3303811990041512391"]
)
def test_pseudonyms_and_staff_ids_pass(sub: str) -> None:
    # 19 digits is no ID number (one is 17 digits and a check character, nothing around it)
    assert VERIFIER.verify_sync(mint_token(KEY, sub=sub, role="resident")).sub == sub


def test_new_account_ids_say_nothing() -> None:
    a, b = new_account_id(), new_account_id()
    assert a != b and a.startswith("acct-") and not holds_id_number(a)
    assert (
        jwt.decode(mint_resident_token(KEY, ID_NUMBER), options={"verify_signature": False})[
            "id_number"
        ]
        == ID_NUMBER
    )
