"""Issue 18 #5: the verification code was readable in SMS bodies through `/v1/deliveries`,
by an admin whom intake refuses the case. Now the code is stored nowhere in notify (the
dispatcher derives it when it sends) and the message text follows the case's own rule."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from contracts.verification import verification_code
from eventkit.auth import AuthSettings, TokenVerifier, generate_private_key, mint_token, public_pem

from ...unit.notify import factories as f
from .support import VERIFICATION_SECRET, running_notify, wait_status, wait_until

pytestmark = pytest.mark.integration


async def test_the_code_reaches_the_resident_only_and_the_text_follows_the_case_rule(
    infra, pg_schema, topics, tmp_path: Path
) -> None:
    key = generate_private_key()

    def token(role: str, sub: str, org: str | None = None, tier: str = "town") -> dict[str, str]:
        tok = mint_token(key, sub=sub, role=role, org_id=org, tier=tier if org else None)
        return {"Authorization": f"Bearer {tok}"}

    async with running_notify(infra, pg_schema, topics, tmp_path) as n:
        n.app.state.auth = TokenVerifier(AuthSettings(public_key=public_pem(key)))
        case = f.new_case_id()
        code = verification_code(case, VERIFICATION_SECRET.encode())
        await n.publish(
            [
                f.unit_registered("mayu", "马屿镇", parent=None),
                f.unit_registered(),
                f.staff_registered("agent.mabei.1", "李芳", unit_id="mabei"),
            ]
        )
        await n.publish([f.submitted(case), f.accepted(case)])
        await wait_status(n, case, {"delivered": 1})

        # the resident's phone got the code ...
        (sms,) = n.sms_lines()
        assert f"查询码 {code} 可随时查询" in sms["text"]
        # ... and nothing notify keeps holds it
        async with n.pool.acquire() as conn:
            stored = await conn.fetch("SELECT * FROM deliveries WHERE case_id = $1", case)
            kept = [str(dict(r)) for r in stored]
            kept += [str(r["envelope"]) for r in await conn.fetch("SELECT * FROM events")]
        assert stored and not [k for k in kept if code in k]

        async def known() -> bool:
            return bool(await n.pool.fetchval("SELECT true FROM staff WHERE unit_id = 'mabei'"))

        await wait_until(known, what="the agent in notify's staff directory")
        transport = httpx.ASGITransport(app=n.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://notify") as http:
            url = f"/v1/deliveries?case_id={case}"

            async def read(headers: dict[str, str]) -> dict:  # type: ignore[type-arg]
                r = await http.get(url, headers=headers)
                assert r.status_code == 200, r.text
                assert code not in r.text
                (d,) = r.json()["deliveries"]
                return d  # type: ignore[no-any-return]

            # who may read the case reads the text (the code's slot, never the code)
            for who in (
                token("inspector", "insp-1", "ruian", "city"),
                token("community_agent", "agent.mabei.1", "mabei", "community"),
            ):
                d = await read(who)
                assert "已受理" in d["body"] and "查询码：发送时填入" in d["body"]
                assert d["text_withheld"] is None
            # an admin keeps the channels but reads no case: status yes, text no
            d = await read(token("admin", "admin.ops", "ruian", "city"))
            assert d["status"] == "delivered" and d["address"] == "138****2345"
            assert d["body"] is None and d["subject"] is None
            assert "administrators" in d["text_withheld"]
            # a name the staff directory does not list at that center: no text either
            d = await read(token("community_agent", "agent.ghost", "mabei", "community"))
            assert d["body"] is None and "directory" in d["text_withheld"]
