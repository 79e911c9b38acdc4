"""纪检监察 in a real Chromium against the real stack: a search of the trail, a case's
timeline, the anomaly rules, and an event's inclusion proof verified BY THE PAGE (WebCrypto:
SHA-256 and Ed25519) against the signed checkpoint and the log's published key; one byte
changed in the page's audit path makes the same page say the proof failed. The root the page
computed is the one libs/tlog computes from the same proof, and the checkpoint's."""

from __future__ import annotations

import base64
import re
from datetime import date
from typing import Any

from devstack.demo import id_number
from tlog.note import Verifier, open_checkpoint
from tlog.proofs import root_from_inclusion_proof

from ..e2e.lifecycle.stack import MABEI
from ..polling import eventually
from .conftest import axe_violations, shot
from .signin import INSPECTOR, sign_in_staff
from .stack import PortalStack

TAMPER_ONE_BYTE = """() => {
  const el = document.getElementById("proof-data");
  const data = JSON.parse(el.textContent);
  const raw = Uint8Array.from(atob(data.proof[0]), (c) => c.charCodeAt(0));
  raw[7] ^= 0x01;
  data.proof[0] = btoa(String.fromCharCode(...raw));
  el.textContent = JSON.stringify(data);
}"""


async def _verdict(page: Any, status: str) -> str:
    result = page.locator(f'#proof-result[data-status="{status}"]')
    await result.wait_for(timeout=15_000)
    return str(await result.inner_text())


async def test_an_inspector_verifies_an_events_proof_in_the_page_and_a_tampered_one_fails(
    page: Any, portal: PortalStack
) -> None:
    audit = portal.audit_client
    keys = (await audit.get("/v1/log/keys")).json()
    key_id = keys["log"]["key_id"]

    await sign_in_staff(page, INSPECTOR, "/inspector")
    await page.get_by_label("事项编码").fill("FP-002")
    await page.get_by_role("button", name="查询").click()
    await page.wait_for_url(re.compile(r"/inspector\?.*item_code=FP-002"))
    rows = page.locator("#h-results ~ .table-wrap tbody tr")
    assert await rows.count() >= 1
    assert "FP-002" in await rows.first.inner_text()
    await shot(page, "inspector-search")

    await rows.first.get_by_role("link", name="验证").click()
    await page.wait_for_url("**/inspector/events/**")
    text = await _verdict(page, "verified")
    assert "验证通过" in text and key_id in text and keys["log"]["name"] in text
    steps = page.locator("#proof-steps li")
    assert await steps.count() == 6
    assert await page.locator("#proof-steps li.bad").count() == 0
    await shot(page, "inspector-proof")

    # the same proof, by libs/tlog: the same root, and it is the signed checkpoint's
    event_id = page.url.rsplit("/", 1)[1]
    proof = (await audit.get("/v1/log/proof/inclusion", params={"event_id": event_id})).json()
    root = root_from_inclusion_proof(
        base64.b64decode(proof["leaf_hash"]),
        proof["leaf_index"],
        proof["tree_size"],
        [base64.b64decode(p) for p in proof["proof"]],
    )
    assert await page.locator("#computed-root").get_attribute("data-hex") == root.hex()
    note = (await audit.get("/v1/log/checkpoint", params={"size": proof["tree_size"]})).text
    verifier = Verifier.from_key((await audit.get("/v1/log/public-key")).text)
    checkpoint, _ = open_checkpoint(note, [verifier], keys["origin"])
    assert checkpoint.root_hash == root
    assert proof["proof"], "a tree of one leaf has no path to tamper with"

    # one byte of the audit path changed in the page's data: the page says it failed
    await page.evaluate(TAMPER_ONE_BYTE)
    await page.get_by_role("button", name="重新验证").click()
    text = await _verdict(page, "failed")
    assert "验证失败" in text and key_id in text
    bad = page.locator("#proof-steps li.bad")
    assert await bad.count() == 1
    assert "默克尔根" in await bad.inner_text()
    assert await page.locator("#computed-root").get_attribute("data-hex") != root.hex()
    await shot(page, "inspector-proof-tampered")


async def test_an_inspector_reads_a_timeline_and_the_anomaly_rules(
    page: Any, portal: PortalStack
) -> None:
    rules = portal.stack.inspector()  # the audit's rules as the inspector reads them
    served = (await portal.audit_client.get("/v1/inspect/rules", headers=rules)).json()["rules"]
    await sign_in_staff(page, INSPECTOR, "/inspector/anomalies")
    table = await page.locator("#h-rules ~ .table-wrap").inner_text()
    for r in served:
        assert r["id"] in table and r["description"] in table

    await page.goto("/inspector?item_code=FP-002")
    first = page.locator("#h-results ~ .table-wrap tbody tr").first
    case_id = (await first.locator("td").nth(3).inner_text()).strip()
    await first.get_by_role("link", name=case_id).click()
    await page.wait_for_url(f"**/inspector/cases/{case_id}")
    timeline = page.locator("#h-timeline ~ .table-wrap tbody tr")
    assert await timeline.count() >= 1
    assert case_id in await page.locator("h1").inner_text()
    proofs = page.locator("#h-timeline ~ .table-wrap").get_by_role("link", name="验证")
    assert await proofs.count() >= 1


async def test_the_inspector_pages_have_no_serious_accessibility_violations(
    page: Any, portal: PortalStack
) -> None:
    await sign_in_staff(page, INSPECTOR, "/inspector")
    await page.goto("/inspector?item_code=FP-002")
    proof_link = page.get_by_role("link", name="验证").first
    proof_path = await proof_link.get_attribute("href")
    for path in ("/inspector?item_code=FP-002", "/inspector/anomalies", proof_path):
        r = await page.goto(path)
        assert r is not None and r.status == 200, path
        bad = [v for v in await axe_violations(page) if v["impact"] in ("serious", "critical")]
        assert bad == [], (path, [(v["id"], v["help"], v["nodes"][0]["target"]) for v in bad])


async def test_an_inspector_lists_who_read_a_residents_personal_data(
    page: Any, portal: PortalStack
) -> None:
    """个人信息查阅记录 (PIPL): the page shows intake's record of reads in the clear — who,
    whose (the pseudonym, never an ID number), which case and endpoint — and narrows it to a
    case and to a reader."""
    intake = portal.stack.clients["intake"]
    headers = portal.stack.inspector()

    async def recorded() -> list[dict[str, Any]]:
        r = await intake.get("/v1/personal-data/reads", params={"limit": 1000}, headers=headers)
        assert r.status_code == 200, r.text
        return list(r.json()["items"])

    def key(r: dict[str, Any]) -> tuple[str, ...]:
        return (r["read_at"][:19].replace("T", " "), r["reader_id"], r["subject_id"])

    # a case handed in at 马北's window, opened by the inspector through intake's API: a read
    # (notify's receipt asks intake for the phone: another, by `notify`)
    agent = ("ruian.mayu.mabei.agent1", "community_agent", MABEI, "community")
    person = {
        "name": "林晓雯",
        "id_number": id_number(date(1991, 3, 8), 731),
        "phone": "13957700731",
        "registered_community_id": MABEI,
        "address": "瑞安市马屿镇马北社区学府路7号",
    }
    r = await portal.stack.post(
        intake,
        "/v1/applications",
        agent,
        {
            "item_code": "FP-002",
            "applicant": person,
            "materials_provided": [],
            "deposit_paid_fen": 300_000,  # the published 再生育 deposit
            "payment_receipt_no": "MB-2026-000731",
        },
    )
    assert r.status_code == 201, r.text
    opened = await intake.get(f"/v1/applications/{r.json()['case_id']}", headers=headers)
    assert opened.status_code == 200 and opened.json()["application"]["applicant"]["name"]
    await eventually(recorded, lambda rs: len(rs) > 0, what="a read on the record")
    await sign_in_staff(page, INSPECTOR, "/inspector/reads")
    rows = page.locator("#h-reads ~ .table-wrap tbody tr")
    shown = []
    for i in range(await rows.count()):
        cells = [c.strip() for c in await rows.nth(i).locator("td").all_inner_texts()]
        shown.append((cells[0], cells[1], cells[4]))
    # every row is one of intake's records (read after the page: reads are only ever added)
    everything = await recorded()
    assert 1 <= len(shown) <= 100 and set(shown) <= {key(r) for r in everything}
    whole = await page.locator("#h-reads ~ .table-wrap").inner_text()
    assert not re.search(r"\d{17}[\dX]", whole)  # no ID number on the page
    first = next(r for row in shown for r in everything if key(r) == row and r["case_id"])

    # narrowed to one case: only its reads
    case_id = first["case_id"]
    await page.fill("#f-case_id", case_id)
    await page.get_by_role("button", name="查询").click()
    await page.wait_for_url(f"**/inspector/reads?case_id={case_id}**")
    assert await rows.count() >= 1
    for i in range(await rows.count()):
        assert case_id in await rows.nth(i).inner_text()
    # a reader's link narrows to that reader
    reader = (await rows.first.locator("td").nth(1).inner_text()).strip()
    await rows.first.get_by_role("link", name=reader).click()
    await page.wait_for_url("**/inspector/reads?reader_id=**")
    assert await rows.count() >= 1
    for i in range(await rows.count()):
        assert (await rows.nth(i).locator("td").nth(1).inner_text()).strip() == reader
    # a malformed case id is refused beside its field, in Chinese, the form kept
    await page.goto("/inspector/reads?case_id=not-a-case")
    err = page.locator("#f-case_id[aria-invalid=true]")
    assert await err.count() == 1
    assert await page.input_value("#f-case_id") == "not-a-case"
    bad = [v for v in await axe_violations(page) if v["impact"] in ("serious", "critical")]
    assert bad == [], [(v["id"], v["help"]) for v in bad]
