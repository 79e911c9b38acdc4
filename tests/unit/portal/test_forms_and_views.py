"""The portal's own rules, without servers: CSRF on every form, what a refused form keeps,
development sign-in, and the small views (fees in yuan, opening hours, the board by name)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from eventkit.auth import generate_private_key, private_pem
from portal.bootstrap import build
from portal.forms import FormState, refused
from portal.http.public import hours_rows, month_range, named_board
from portal.services_api import ServiceClients, ServiceError
from portal.settings import Settings
from portal.signin import dev_people
from portal.web import yuan

pytestmark = pytest.mark.unit

NOWHERE = {n: "http://127.0.0.1:9" for n in ("intake", "routing", "notify", "audit")}


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    key = tmp_path / "dev.pem"
    key.write_text(private_pem(generate_private_key("EdDSA")))
    settings = Settings(
        session_secret="unit-secret-0123456789abcdef",
        cookie_secure=False,
        dev_signin=True,
        dev_key_file=key,
    )
    return TestClient(build(settings, clients=ServiceClients(NOWHERE)), base_url="http://p.test")


def _csrf(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, "the form carries the CSRF token"
    return m.group(1)


def test_a_form_without_the_sessions_csrf_token_is_refused(client: TestClient) -> None:
    client.get("/signin")
    r = client.post(
        "/signin/dev",
        data={
            "kind": "resident",
            "name": "陈小芳",
            "id_number": "330381199004151239",
            "csrf_token": "forged",
        },
    )
    assert r.status_code == 403 and "CSRF" in r.text
    assert client.get("/resident", follow_redirects=False).status_code == 303  # nobody signed in


def test_a_resident_signs_in_and_a_wrong_id_is_named_beside_its_field(client: TestClient) -> None:
    page = client.get("/signin")
    assert page.status_code == 200  # routing unreachable: no staff listed, residents still can
    token = _csrf(page.text)
    bad = client.post(
        "/signin/dev",
        data={"kind": "resident", "name": "陈小芳", "id_number": "12345", "csrf_token": token},
    )
    assert bad.status_code == 422
    assert 'id="e-id_number"' in bad.text and "身份证号应为18位" in bad.text
    assert 'value="陈小芳"' in bad.text  # what was typed is kept
    ok = client.post(
        "/signin/dev",
        data={
            "kind": "resident",
            "name": "陈小芳",
            "id_number": "330381199004151239",
            "csrf_token": token,
            "next": "/guide",
        },
        follow_redirects=False,
    )
    assert ok.status_code == 303 and ok.headers["location"] == "/guide"
    cookie = ok.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie


def test_sign_in_never_redirects_to_another_site(client: TestClient) -> None:
    token = _csrf(client.get("/signin").text)
    r = client.post(
        "/signin/dev",
        data={
            "kind": "resident",
            "name": "陈小芳",
            "id_number": "330381199004151239",
            "csrf_token": token,
            "next": "//evil.example/x",
        },
        follow_redirects=False,
    )
    assert r.headers["location"] == "/resident"


def test_every_audience_is_registered_once() -> None:
    from portal.bootstrap import load_audiences

    names = [a.name for a in load_audiences()]
    assert names == [
        "signin",
        "public",
        "resident",
        "clerk",
        "officer",
        "head",
        "inspector",
        "sitreports",
        "admin",
    ]


def test_a_refusal_goes_beside_the_field_it_names_with_a_new_key() -> None:
    state = FormState(values={"score": "9"})
    bad = ServiceError(
        "intake", 422, "score", "9 is outside 1..5", "invalid_field", from_service=True
    )
    again = refused(state, bad, {"score": "score"})
    assert again.errors == {"score": "请选择1至5分"}
    assert again.values == {"score": "9"} and again.idempotency_key != state.idempotency_key
    late = ServiceError(
        "intake", 409, "status", "already evaluated", "wrong_status", from_service=True
    )
    other = refused(state, late, {})
    assert other.message == "办件当前状态不允许此操作，请刷新页面查看最新状态" and not other.errors
    mine = refused(state, ServiceError("intake", 404, "case_id", "没有这个办件"), {})
    assert mine.message == "没有这个办件"  # the portal's own refusal, already in Chinese


def test_views() -> None:
    assert (yuan(0), yuan(300000), yuan(1250), yuan(None)) == ("0元", "3000元", "12.50元", "—")
    hours = hours_rows(
        {
            "weekly": {
                "0": [
                    {"opens": "08:30:00", "closes": "12:00:00"},
                    {"opens": "13:30:00", "closes": "17:30:00"},
                ],
                "5": [{"opens": "08:30:00", "closes": "11:30:00"}],
            }
        }
    )
    assert hours[0] == ("周一", "08:30–12:00、13:30–17:30")
    assert hours[5] == ("周六", "08:30–11:30") and hours[6] == ("周日", "休息")
    start, end = month_range(datetime(2026, 11, 30, 17, 0, tzinfo=UTC))  # 1 Dec in Rui'an
    assert (start.isoformat(), end.isoformat()) == (
        "2026-12-01T00:00:00+08:00",
        "2027-01-01T00:00:00+08:00",
    )
    rows = named_board(
        {"ruian.mayu.mabei": {"received": 3}, "ruian": {"received": 1}},
        [
            {"unit_id": "ruian", "name_zh": "瑞安市行政审批服务中心", "tier": "city"},
            {"unit_id": "ruian.mayu.mabei", "name_zh": "马北社区", "tier": "community"},
        ],
    )
    assert [(r["name_zh"], r["received"]) for r in rows] == [
        ("瑞安市行政审批服务中心", 1),
        ("马北社区", 3),
    ]


def test_development_sign_in_lists_every_staff_member_by_role_and_center() -> None:
    tree = {
        "units": [
            {
                "unit_id": "ruian",
                "name_zh": "市中心",
                "tier": "city",
                "staff": [
                    {"staff_id": "ruian.head", "name_zh": "张主任", "roles": ["center_head"]}
                ],
                "children": [
                    {
                        "unit_id": "ruian.mayu",
                        "name_zh": "马屿镇",
                        "tier": "town",
                        "staff": [
                            {
                                "staff_id": "ruian.mayu.jsb.a",
                                "name_zh": "王建华",
                                "roles": ["officer", "community_agent"],
                            }
                        ],
                        "children": [],
                    }
                ],
            }
        ]
    }
    people = {(p.sub, p.role, p.org_id, p.tier) for p in dev_people(tree)}
    assert ("ruian.head", "center_head", "ruian", "city") in people
    assert ("ruian.mayu.jsb.a", "officer", "ruian.mayu", "town") in people
    assert ("ruian.mayu.jsb.a", "community_agent", "ruian.mayu", "town") in people
    assert {"inspector", "admin"} <= {p[1] for p in people}


def test_a_reprinted_receipts_link_has_no_code_and_opens_the_form_filled_in(
    client: TestClient,
) -> None:
    from portal.http.clerk import status_link

    assert status_link("http://p.test/", "RA2026000123", "123456") == (
        "http://p.test/s/RA2026000123?c=123456"
    )
    assert status_link("http://p.test/", "RA2026000123", None) == "http://p.test/s/RA2026000123"
    r = client.get("/s/RA2026000123")  # no code: the form, the number filled in, no error
    assert r.status_code == 200 and r.url.path == "/status"
    assert 'value="RA2026000123"' in r.text and 'role="alert"' not in r.text


async def test_the_service_clock_counts_calls_made_together_once() -> None:
    import asyncio

    from portal.services_api import ServiceClock

    clock = ServiceClock()
    clock.enter()
    clock.enter()  # a second call while the first is out: one stretch of waiting
    clock.leave()
    assert clock.total_s == 0.0 and clock.inflight == 1
    await asyncio.sleep(0)
    clock.leave()
    first = clock.total_s
    assert first > 0.0 and clock.inflight == 0
    clock.enter()
    clock.leave()
    assert clock.total_s >= first


def test_every_page_says_its_time_and_its_services_share(client: TestClient) -> None:
    r = client.get("/healthz")
    parts = dict(p.strip().split(";dur=") for p in r.headers["server-timing"].split(","))
    assert set(parts) == {"app", "svc"} and float(parts["svc"]) == 0.0
    assert float(parts["app"]) >= 0.0
