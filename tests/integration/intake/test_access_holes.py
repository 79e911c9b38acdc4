"""The access holes of issue 12, closed at intake (in-process app, real PostgreSQL and Kafka).

Each test is the attack that got through, now refused with a reason and changing nothing,
next to the way that is meant to work."""

from __future__ import annotations

import httpx
import pytest

from .support import AGENT_DONGSHAN, AGENT_MABEI, OFFICER_MABEI, Harness, second_child

pytestmark = pytest.mark.integration


async def case_events_total(h: Harness) -> int:
    return await h.count("SELECT count(*) FROM events WHERE stream_id LIKE 'case-%'")


async def test_a_staff_token_without_its_center_submits_nothing(intake: Harness) -> None:
    """A community_agent token with no org_id (nor tier), whose sub is no staff member,
    submitted at 马北 (201): a staff token must name its center and tier."""
    before = await case_events_total(intake)
    body = second_child(accepting_center_id="ruian.mayu.mabei")
    for org, tier in ((None, None), (None, "community"), ("ruian.mayu.mabei", None)):
        token = intake.keys.token("nobody.at.all", "community_agent", org, tier)
        r = await intake.client.post(
            "/v1/applications", json=body, headers={"Authorization": f"Bearer {token}"}
        )
        assert r.status_code == 401, (org, tier, r.text)
        missing = "org_id" if org is None else "tier"
        assert missing in r.json()["detail"]["reason"]
    assert await case_events_total(intake) == before
    assert (await intake.submit(AGENT_MABEI, body)).status_code == 201


async def test_the_accepting_staff_member_is_a_registered_staff_member_of_the_center(
    intake: Harness,
) -> None:
    """首问责任人 was just the token's sub: a name not in the org tree was recorded as
    accountable. Intake checks it against the staff directory routing publishes."""
    before = await case_events_total(intake)
    ghost = ("ghost.of.mabei", "community_agent", "ruian.mayu.mabei", "community")
    r = await intake.submit(ghost, second_child())
    assert r.status_code == 403, r.text
    assert r.json()["detail"]["field"] == "actor"
    assert "staff directory" in r.json()["detail"]["reason"]

    # a registered staff member of another center, claiming 马北 in the token
    elsewhere = (AGENT_DONGSHAN[0], "community_agent", "ruian.mayu.mabei", "community")
    r = await intake.submit(elsewhere, second_child())
    assert r.status_code == 403, r.text
    assert "ruian.dongshan" in r.json()["detail"]["reason"]

    # a role the directory does not give them (a window agent is no officer)
    as_officer = (AGENT_DONGSHAN[0], "officer", "ruian.dongshan", "town")
    r = await intake.submit(as_officer, second_child())
    assert r.status_code == 403, r.text
    assert r.json()["detail"]["field"] == "actor"

    # naming someone else as the responsible staff member: they must be staff of the center
    for named in ("nobody.in.the.tree", AGENT_DONGSHAN[0]):
        r = await intake.submit(AGENT_MABEI, second_child(accepting_staff_id=named))
        assert r.status_code == 403, r.text
        assert r.json()["detail"]["field"] == "accepting_staff_id"
    assert await case_events_total(intake) == before

    ok = await intake.submit(AGENT_MABEI, second_child(accepting_staff_id=OFFICER_MABEI[0]))
    assert ok.status_code == 201, ok.text
    stored = await intake.stream(ok.json()["case_id"])
    assert stored[0]["payload"]["accepting_staff_id"] == OFFICER_MABEI[0]


async def test_a_withdrawal_is_the_residents_act(intake: Harness) -> None:
    """An agent of another center withdrew a case accepted at 马北 (200). Staff record a
    withdrawal for a case of their own (accepting) center, or with the resident present giving
    the verification code of their receipt; the event says which."""
    path = "/v1/applications/{}/withdraw"

    async def accepted_at_mabei() -> tuple[str, str]:
        r = await intake.submit(AGENT_MABEI, second_child())
        assert r.status_code == 201, r.text
        return r.json()["case_id"], r.json()["verification_code"]

    case_id, code = await accepted_at_mabei()
    before = await case_events_total(intake)
    other_center = intake.keys.headers(AGENT_DONGSHAN)
    r = await intake.client.post(path.format(case_id), json={}, headers=other_center)
    assert r.status_code == 403, r.text
    assert r.json()["detail"]["field"] == "verification_code"
    assert "resident" in r.json()["detail"]["reason"]
    wrong = "000000" if code != "000000" else "111111"
    r = await intake.client.post(
        path.format(case_id), json={"verification_code": wrong}, headers=other_center
    )
    assert r.status_code == 403, r.text
    assert await case_events_total(intake) == before

    # the resident, present at 东山's window, gives the code from the receipt
    r = await intake.client.post(
        path.format(case_id),
        json={"verification_code": code, "reason": "已在别处办理"},
        headers=other_center,
    )
    assert r.status_code == 200, r.text
    withdrawn = (await intake.stream(case_id))[-1]
    assert withdrawn["event_type"] == "intake.application_withdrawn"
    assert withdrawn["schema_version"] == 2
    assert withdrawn["payload"]["confirmation"] == "verification_code"
    assert withdrawn["payload"]["withdrawn_by"] == AGENT_DONGSHAN[0]

    # the accepting center's own staff hold the resident's file
    case_id, _ = await accepted_at_mabei()
    r = await intake.client.post(
        path.format(case_id), json={}, headers=intake.keys.headers(OFFICER_MABEI)
    )
    assert r.status_code == 200, r.text
    assert (await intake.stream(case_id))[-1]["payload"]["confirmation"] == "accepting_center"

    # and the resident themself
    case_id, _ = await accepted_at_mabei()
    r = await intake.client.post(path.format(case_id), json={}, headers=intake.keys.resident())
    assert r.status_code == 200, r.text
    assert (await intake.stream(case_id))[-1]["payload"]["confirmation"] == "resident"


def client_at(h: Harness, address: str) -> httpx.AsyncClient:
    """An HTTP client of intake seen from `address` (the status view throttles by address)."""
    transport = httpx.ASGITransport(app=h.app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://intake")


async def test_wrong_codes_throttle_the_guesser_not_the_resident(intake: Harness) -> None:
    """10 wrong codes locked the receipt for 15 minutes, the right code included: anyone
    who knew a receipt number could lock the resident out."""
    case = (await intake.submit(AGENT_MABEI, second_child())).json()
    receipt, code = case["receipt_no"], case["verification_code"]
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    async with (
        client_at(intake, "203.0.113.7") as guesser,
        client_at(intake, "198.51.100.20") as resident,
    ):
        for _ in range(intake.settings.status_max_failures):
            r = await guesser.get("/v1/status", params={"receipt_no": receipt, "code": wrong})
            assert r.status_code == 404
        # the guesser is stopped, even with the right code ...
        r = await guesser.get("/v1/status", params={"receipt_no": receipt, "code": code})
        assert r.status_code == 429 and "retry-after" in r.headers
        # ... the resident, elsewhere, is not
        r = await resident.get("/v1/status", params={"receipt_no": receipt, "code": code})
        assert r.status_code == 200, r.text
        assert r.json()["case_id"] == case["case_id"]


async def test_many_guessers_pace_the_case_but_the_right_code_still_works(
    intake: Harness,
) -> None:
    """Guessers at many addresses exhaust the case's hourly budget: its code is then checked
    once per pace, never locked; a resident who has not guessed wrong is checked in the next
    free moment (the moment is made to come by moving the case's next check, not by waiting)."""
    case = (await intake.submit(AGENT_MABEI, second_child())).json()
    receipt, code = case["receipt_no"], case["verification_code"]
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    ask = {"receipt_no": receipt}
    for i in range(intake.settings.status_case_budget_per_hour):
        async with client_at(intake, f"192.0.2.{i + 1}") as guesser:
            r = await guesser.get("/v1/status", params={**ask, "code": wrong})
            assert r.status_code == 404
    async with client_at(intake, "192.0.2.200") as paced_guesser:
        r = await paced_guesser.get("/v1/status", params={**ask, "code": wrong})
        assert r.status_code == 404  # the paced check was taken (and failed)
    async with client_at(intake, "198.51.100.77") as resident:
        r = await resident.get("/v1/status", params={**ask, "code": code})
        assert r.status_code == 429, r.text  # slowed: between two paced checks
        assert 0 < int(r.headers["retry-after"]) <= intake.settings.status_case_pace_seconds
        assert "once every" in r.json()["detail"]["reason"]

        conn = await intake.connect()
        try:
            await conn.execute(
                "UPDATE verification_guesses SET next_check_at = now() WHERE bucket = $1",
                f"case:{case['case_id']}",
            )
        finally:
            await conn.close()
        async with client_at(intake, "192.0.2.1") as earlier_guesser:
            r = await earlier_guesser.get("/v1/status", params={**ask, "code": code})
            assert r.status_code == 429  # who guessed wrong gets no paced check
        r = await resident.get("/v1/status", params={**ask, "code": code})
        assert r.status_code == 200, r.text


async def test_staff_guessing_a_residents_code_to_withdraw_are_throttled(
    intake: Harness,
) -> None:
    """The verification code also lets staff of another center record a withdrawal: the same
    throttle counts their wrong codes, on them."""
    case = (await intake.submit(AGENT_MABEI, second_child())).json()
    wrong = f"{(int(case['verification_code']) + 1) % 1_000_000:06d}"
    path = f"/v1/applications/{case['case_id']}/withdraw"
    headers = intake.keys.headers(AGENT_DONGSHAN)
    before = await case_events_total(intake)
    for _ in range(intake.settings.status_max_failures):
        r = await intake.client.post(path, json={"verification_code": wrong}, headers=headers)
        assert r.status_code == 403
    r = await intake.client.post(
        path, json={"verification_code": case["verification_code"]}, headers=headers
    )
    assert r.status_code == 429 and "retry-after" in r.headers
    assert await case_events_total(intake) == before


async def test_staff_the_directory_does_not_list_read_nothing(intake: Harness) -> None:
    """The same rule for reading: a staff token whose subject the org tree does not list at
    its center sees no case of that center (the applicants' data stays with its staff)."""
    case_id = (await intake.submit(AGENT_MABEI, second_child())).json()["case_id"]
    ghost = intake.keys.headers(
        ("ghost.of.mabei", "community_agent", "ruian.mayu.mabei", "community")
    )
    r = await intake.client.get(f"/v1/applications/{case_id}", headers=ghost)
    assert r.status_code == 403, r.text
    assert "staff directory" in r.json()["detail"]["reason"]
    r = await intake.client.get("/v1/applications", headers=ghost)
    assert r.status_code == 403, r.text
    ok = await intake.client.get(
        f"/v1/applications/{case_id}", headers=intake.keys.headers(AGENT_MABEI)
    )
    assert ok.status_code == 200
