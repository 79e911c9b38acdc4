"""The load generator's scans go through intake's real upload route: its driver
(`bench.loadgen.driver.Driver.attach`, its own HTTP/1.1 client) uploads the files
`devstack.scans` plans for a case to intake served on a socket (real PostgreSQL store, real
Kafka), and intake attaches each one to the planned material, stored as planned (PDFs byte for
byte; photos re-encoded without their metadata); the same upload again attaches nothing. The
demo (`make demo`, `devstack.demo.attach_scans`, httpx) uploads them the same way."""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any

import pytest

from bench.loadgen.driver import Driver
from devstack.demo import Api, DemoError, World, attach_scans
from devstack.scans import plan_scans

from ..intake.support import AGENT_MABEI, FP002_ALL, second_child
from .conftest import Served

pytestmark = pytest.mark.integration

SEED = 7


def _case_with_scans(min_materials: int) -> int:
    """The first case number whose plan has scans of at least `min_materials` materials and
    both kinds of file."""
    for n in range(1, 500):
        scans = plan_scans(SEED, n, FP002_ALL)
        kinds = {s.content_type for s in scans}
        if len({s.material_code for s in scans}) >= min_materials and len(kinds) == 2:
            return n
    raise AssertionError("no such case in 500: the plan's shares changed")


async def test_the_driver_uploads_the_planned_scans_through_the_upload_route(
    served: Served,
) -> None:
    h = served.harness
    api = Api(h.keys.private, {"intake": served.base_url})
    driver = Driver(api, World({}, {}, {}), tail=None, seed=SEED)  # type: ignore[arg-type]
    try:
        n = _case_with_scans(2)
        scans = plan_scans(SEED, n, FP002_ALL)
        r = await h.submit(AGENT_MABEI, second_child())
        assert r.status_code == 201, r.text
        case_id = r.json()["case_id"]

        assert await driver.attach(case_id, AGENT_MABEI, scans) == len(scans)
        assert driver.calls.ms["POST intake /documents"], "the upload went through the driver"
        listed = await h.client.get(
            f"/v1/applications/{case_id}/documents", headers=h.keys.headers(AGENT_MABEI)
        )
        docs: list[dict[str, Any]] = listed.json()["documents"]
        assert sorted((d["material_code"], d["file_name"], d["content_type"]) for d in docs) == (
            sorted((s.material_code, s.file_name, s.content_type) for s in scans)
        )
        by_name = {d["file_name"]: d for d in docs}
        for s in scans:
            if s.content_type == "application/pdf":
                assert by_name[s.file_name]["sha256"] == hashlib.sha256(s.data).hexdigest()
        events = [
            e for e in await h.stream(case_id) if e["event_type"] == "intake.document_attached"
        ]
        assert sorted(e["payload"]["sha256"] for e in events) == sorted(d["sha256"] for d in docs)

        assert await driver.attach(case_id, AGENT_MABEI, scans) == 0, "a retry attaches nothing"
    finally:
        await driver.close()
        await api.close()


async def test_the_demo_uploads_the_same_scans_through_the_upload_route(served: Served) -> None:
    h = served.harness
    api = Api(h.keys.private, {"intake": served.base_url})
    try:
        scans = plan_scans(SEED, _case_with_scans(1), FP002_ALL)
        r = await h.submit(AGENT_MABEI, second_child())
        assert r.status_code == 201, r.text
        case_id = r.json()["case_id"]
        assert await attach_scans(api, case_id, AGENT_MABEI, scans) == len(scans)
        listed = await h.client.get(
            f"/v1/applications/{case_id}/documents", headers=h.keys.headers(AGENT_MABEI)
        )
        assert sorted(d["file_name"] for d in listed.json()["documents"]) == sorted(
            s.file_name for s in scans
        )
        assert await attach_scans(api, case_id, AGENT_MABEI, scans) == 0, "a retry attaches nothing"
        wrong = [dataclasses.replace(scans[0], material_code="PASSPORT")]
        with pytest.raises(DemoError, match="material_code"):
            await attach_scans(api, case_id, AGENT_MABEI, wrong)
    finally:
        await api.close()
