"""Service lines (服务条线) at intake on real Kafka and PostgreSQL: once routing's tree gives a
center its lines, every case submitted there is put on one of them, recorded in the
submission and the acceptance; a center without lines records none."""

from __future__ import annotations

import pytest

from contracts.routing import ServiceLinesSet
from routing.seed_org import COMMUNITY_LINES

from ...polling import eventually
from .support import AGENT_DONGSHAN, AGENT_MABEI, ROUTING_ADMIN, Harness, routing_envelope
from .support import second_child as second_child_body

pytestmark = pytest.mark.integration

MABEI = "ruian.mayu.mabei"


async def test_a_case_is_put_on_its_centers_line(intake: Harness) -> None:
    lines = ServiceLinesSet(unit_id=MABEI, service_lines=COMMUNITY_LINES, set_by=ROUTING_ADMIN.id)
    await intake.publish_routing(routing_envelope(lines, stream_id="org-ruian", org_id=MABEI))

    async def listed() -> bool:
        r = await intake.client.get(f"/v1/centers/{MABEI}")
        return r.status_code == 200 and len(r.json()["service_lines"]) == len(COMMUNITY_LINES)

    await eventually(listed, what="马北's six lines known to intake")

    r = await intake.submit(AGENT_MABEI, second_child_body())
    assert r.status_code == 201, r.text
    stored = await intake.stream(r.json()["case_id"])
    assert [(e["event_type"], e["payload"]["line_id"]) for e in stored] == [
        ("intake.application_submitted", "l01"),  # 计划生育与流动人口
        ("intake.application_accepted", "l01"),
    ]

    # 东山街道's center has no lines in this tree: the case belongs to none
    r = await intake.submit(AGENT_DONGSHAN, second_child_body(payment_receipt_no="DS-1"))
    assert r.status_code == 201, r.text
    stored = await intake.stream(r.json()["case_id"])
    assert [e["payload"]["line_id"] for e in stored] == [None, None]
