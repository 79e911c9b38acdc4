"""The anomaly rules in force are served to inspectors (the portal shows each flag with the
rule that raised it): exactly the rules the projector loaded, and to nobody else."""

from __future__ import annotations

import pytest

from audit.anomaly.rules import load_rules

from .support import make_keys, running_audit, settings_for

pytestmark = pytest.mark.integration


async def test_inspectors_read_the_rules_the_projector_applies(infra, pg_schema, topics) -> None:
    (intake,) = await topics("intake")
    keys = make_keys()
    settings = settings_for(infra, pg_schema.schema, [intake], keys, run_writer=False)
    shipped = load_rules()
    async with running_audit(settings, keys) as (_app, client):
        r = await client.get("/v1/inspect/rules", headers=keys.headers("inspector", sub="insp-1"))
        assert r.status_code == 200, r.text
        rules = r.json()["rules"]
        assert [x["id"] for x in rules] == [x.id for x in shipped.rules]
        by_id = {x["id"]: x for x in rules}
        fee = by_id["fee_differs_from_standard"]
        assert fee["kind"] == "standard_mismatch" and fee["severity"] == "serious"
        assert fee["description"].startswith("Fee or deposit charged differs")

        assert (await client.get("/v1/inspect/rules")).status_code == 401
        r = await client.get("/v1/inspect/rules", headers=keys.headers("officer", sub="off-1"))
        assert r.status_code == 403
