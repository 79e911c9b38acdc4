"""Issue 17 part 3: per-service-line figures (服务条线) on the public board: a center's cases
counted in each line that takes their item's category, with on-time rate and ratings."""

from __future__ import annotations

import pytest

from contracts.base import to_payload
from contracts.routing import ServiceLine, ServiceLinesSet

from .support import (
    case_events,
    catalog_events,
    envelope,
    make_keys,
    producer,
    publish,
    running_audit,
    settings_for,
    staff_events,
    wait_for,
)

pytestmark = pytest.mark.integration

LINES = ServiceLinesSet(
    unit_id="c-yucai",
    service_lines=(
        ServiceLine(line_id="jisheng", name_zh="计生窗口", categories=("family_planning",)),
        ServiceLine(line_id="minzheng", name_zh="民政窗口", categories=("civil_affairs",)),
        ServiceLine(line_id="zonghe", name_zh="综合窗口", categories=("*",)),
    ),
    set_by="admin-1",
)


def _rated(case: str, score: int):  # type: ignore[no-untyped-def]
    return envelope(
        "intake.service_evaluated",
        case,
        {"case_id": case, "score": score},
        actor="resident-1",
        role="resident",
        minutes=60 * 24 * 20,
    )


async def test_the_board_shows_figures_per_service_line(infra, pg_schema, topics) -> None:
    intake, routing = await topics("intake", "routing")
    keys = make_keys()
    settings = settings_for(infra, pg_schema.schema, [intake, routing], keys)
    a_in, a_rt = case_events("case-a", dirty=False)  # decided on time
    b_in, b_rt = case_events("case-b", dirty=True)  # decided late
    lines = envelope(
        "routing.service_lines_set", "org-ruian", to_payload(LINES), actor="admin-1", role="admin"
    )
    async with running_audit(settings, keys) as (_app, client), producer(infra.bootstrap) as p:
        await publish(p, intake, [*catalog_events(), *a_in, *b_in, _rated("case-a", 5)])
        await publish(p, intake, [_rated("case-b", 2)])
        await publish(p, routing, [*staff_events(), lines, *a_rt, *b_rt])

        async def both_rated():  # type: ignore[no-untyped-def]
            r = await client.get("/v1/board/lines")
            rows = r.json()["rows"]
            return rows if rows and all(x["reviews"] == 2 for x in rows) else None

        rows = await wait_for(both_rated, what="both cases decided and rated on the board")
    by_line = {(r["center_id"], r["line_id"]): r for r in rows}
    # the family-planning window and the all-round window take the second-child cases;
    # the civil-affairs window takes none, so it has no row
    assert set(by_line) == {("c-yucai", "jisheng"), ("c-yucai", "zonghe")}
    for key in by_line:
        r = by_line[key]
        assert (r["received"], r["decided"], r["on_time"], r["on_time_pct"]) == (2, 2, 1, 50.0)
        assert (r["reviews"], r["satisfaction"]) == (2, 3.5)
    assert by_line[("c-yucai", "jisheng")]["name_zh"] == "计生窗口"
