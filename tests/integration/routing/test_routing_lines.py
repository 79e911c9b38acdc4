"""Service lines (服务条线) on real Kafka and PostgreSQL: acceptances at 育才社区 on a Saturday
morning are queued on their line (the one intake recorded, or routing's by the same rule),
assigned to whoever the roster has on that line then, and the queue reads line by line."""

from __future__ import annotations

import pytest

from .support import accepted, at, new_case_id, running_routing

pytestmark = pytest.mark.integration

YUCAI = "ruian.anyang.yucai"
SATURDAY = at(2026, 10, 17, 9)  # 育才 keeps Saturday-morning hours (08:30-11:30)


async def test_the_queue_by_line_on_a_saturday_morning(infra, pg_schema, topics) -> None:  # type: ignore[no-untyped-def]
    async with running_routing(infra, pg_schema.schema, topics, now=SATURDAY) as rt:
        senior, retiree = new_case_id(), new_case_id()
        here = {"community": YUCAI, "center": YUCAI, "staff": f"{YUCAI}.staff1", "when": SATURDAY}
        await rt.publish(
            accepted(senior, code="CA-001", line_id="l04", **here),  # intake said 老年人服务
            accepted(retiree, code="LS-002", **here),  # recorded without a line
        )
        senior_state = (await rt.wait_case(senior))["state"]
        retiree_state = (await rt.wait_case(retiree))["state"]
        # 老年人服务 on Saturday: staff2 keeps l03-l06, staff1 (post2's A) l01-l02
        assert (senior_state["line_id"], senior_state["accepting_line_id"]) == ("l04", "l04")
        assert senior_state["assigned_to"] == f"{YUCAI}.staff2"
        # 退休人员服务 by the rule; nobody keeps l07 on Saturdays: the head, to reassign
        assert (retiree_state["line_id"], retiree_state["accepting_line_id"]) == ("l07", None)
        assert retiree_state["assigned_to"] == f"{YUCAI}.head"

        head = rt.tokens.staff(f"{YUCAI}.head", role="center_head")

        async def queue(**params: str) -> list[tuple[str, str | None]]:
            r = await rt.client.get("/v1/queue", params=params, headers=head)
            assert r.status_code == 200, r.text
            return sorted((i["case_id"], i["line_id"]) for i in r.json()["items"])

        assert await queue(line_id="l04") == [(senior, "l04")]
        assert await queue(line_id="l07") == [(retiree, "l07")]
        assert await queue(line_id="l01") == []
        assert await queue(unit_id=YUCAI) == sorted([(senior, "l04"), (retiree, "l07")])
        bad = await rt.client.get("/v1/queue", params={"line_id": "l 04!"}, headers=head)
        assert bad.status_code == 422 and "line_id" in bad.text
