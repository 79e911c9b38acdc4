"""`routing.org_unit_registered` carries an optional `address_zh`: it round-trips, and the
events written before it (the v1 golden has no address) still parse, as None."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from pydantic import ValidationError

from contracts.base import payload_of, to_payload
from contracts.routing import OrgUnitRegistered
from eventkit.envelope import Envelope

pytestmark = pytest.mark.unit

GOLDEN = Path(__file__).with_name("golden") / "routing.org_unit_registered" / "v1.json"


def _golden() -> dict:  # type: ignore[type-arg]
    data: dict = orjson.loads(GOLDEN.read_bytes())  # type: ignore[type-arg]
    return data


def test_an_event_without_an_address_still_parses() -> None:
    data = _golden()
    assert "address_zh" not in data["payload"]
    evt = payload_of(Envelope.model_validate(data))
    assert isinstance(evt, OrgUnitRegistered) and evt.address_zh is None


def test_the_address_round_trips_through_the_envelope() -> None:
    data = _golden()
    data["payload"]["address_zh"] = "瑞安市安阳街道万松东路188号市民中心一楼"
    env = Envelope.from_json(orjson.dumps(data))
    evt = payload_of(env)
    assert isinstance(evt, OrgUnitRegistered)
    assert evt.address_zh == "瑞安市安阳街道万松东路188号市民中心一楼"
    again = to_payload(evt)
    assert again["address_zh"] == data["payload"]["address_zh"]
    assert OrgUnitRegistered.model_validate(again) == evt


def test_an_address_is_one_line_of_bounded_length() -> None:
    payload = _golden()["payload"]
    for bad in ("", "瑞安市\n安阳街道", "路" * 1000):
        with pytest.raises(ValidationError) as err:
            OrgUnitRegistered.model_validate({**payload, "address_zh": bad})
        assert err.value.errors()[0]["loc"] == ("address_zh",)
