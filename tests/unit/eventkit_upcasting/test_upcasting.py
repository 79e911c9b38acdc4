"""UpcasterRegistry: pure dict -> dict steps, chained to the latest version."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import pytest

from eventkit.envelope import Actor, Envelope, Producer
from eventkit.upcasting import UpcasterRegistry, UpcastError

pytestmark = pytest.mark.unit

# A tiny test-only chain (NOT a real contract): example.parcel_sent
#   v1 {"weight_g": 1200}                 -> v2 {"weight": {"grams": 1200}}
#   v2 {"weight": {...}}                  -> v3 adds {"carrier": "post"} by default


def example_registry() -> UpcasterRegistry:
    reg = UpcasterRegistry()

    @reg.register("example.parcel_sent", from_version=1)
    def _v1_to_v2(env: dict) -> dict:
        payload = env["payload"]
        payload["weight"] = {"grams": payload.pop("weight_g")}  # mutates its (copied) input
        return env

    @reg.register("example.parcel_sent", from_version=2)
    def _v2_to_v3(env: dict) -> dict:
        return {**env, "payload": {"carrier": "post", **env["payload"]}}

    return reg


def env_dict(version: int, payload: dict, event_type: str = "example.parcel_sent") -> dict:
    return Envelope(
        event_type=event_type,
        schema_version=version,
        stream_id="parcel-1",
        stream_version=1,
        occurred_at=datetime(2026, 1, 5, 8, 0, tzinfo=UTC),
        producer=Producer(service="tests", instance="1"),
        actor=Actor(id="u", role="clerk"),
        payload=payload,
    ).to_json_dict()


def test_a_chain_runs_to_the_latest_version_and_sets_the_version() -> None:
    reg = example_registry()
    old = env_dict(1, {"weight_g": 1200})
    out = reg.upcast(old)
    assert out["schema_version"] == 3
    assert out["payload"] == {"carrier": "post", "weight": {"grams": 1200}}
    assert {k: v for k, v in out.items() if k not in ("payload", "schema_version")} == {
        k: v for k, v in old.items() if k not in ("payload", "schema_version")
    }


def test_upcasting_can_stop_at_a_chosen_version() -> None:
    reg = example_registry()
    out = reg.upcast(env_dict(1, {"weight_g": 9}), to_version=2)
    assert (out["schema_version"], out["payload"]) == (2, {"weight": {"grams": 9}})
    assert reg.step("example.parcel_sent", 2) is not None
    assert reg.step("example.parcel_sent", 3) is None


def test_the_input_is_never_modified_even_by_a_mutating_step() -> None:
    reg = example_registry()
    old = env_dict(1, {"weight_g": 5})
    snapshot = copy.deepcopy(old)
    reg.upcast(old)
    assert old == snapshot


def test_a_middle_version_upcasts_from_where_it_is() -> None:
    out = example_registry().upcast(env_dict(2, {"weight": {"grams": 7}, "carrier": "sf"}))
    assert out["schema_version"] == 3
    assert out["payload"] == {"carrier": "sf", "weight": {"grams": 7}}


def test_latest_unknown_and_malformed_inputs_pass_through_unchanged() -> None:
    reg = example_registry()
    latest = env_dict(3, {"weight": {"grams": 1}, "carrier": "post"})
    assert reg.upcast(latest) is latest
    other = env_dict(1, {"x": 1}, event_type="example.other_thing")
    assert reg.upcast(other) is other
    weird = {"payload": {}}
    assert reg.upcast(weird) is weird
    assert (
        reg.upcast({"event_type": "example.parcel_sent", "schema_version": "1"})["schema_version"]
        == "1"
    )


def test_latest_known_types_and_steps() -> None:
    reg = example_registry()
    assert reg.latest("example.parcel_sent") == 3
    assert reg.latest("nope.nothing") is None
    assert reg.known_types() == {"example.parcel_sent"}
    assert reg.steps() == [("example.parcel_sent", 1), ("example.parcel_sent", 2)]
    assert ("example.parcel_sent", 1) in reg
    reg.declare("example.fresh_type", 1)
    assert reg.latest("example.fresh_type") == 1
    assert "example.fresh_type" in reg.known_types()
    with pytest.raises(ValueError, match="below the registered chain"):
        reg.declare("example.parcel_sent", 2)


def test_registering_the_same_step_twice_is_refused() -> None:
    reg = example_registry()
    with pytest.raises(ValueError, match="already registered"):
        reg.add("example.parcel_sent", 1, lambda e: e)
    with pytest.raises(ValueError, match="start at 1"):
        reg.register("example.parcel_sent", 0)


def test_a_broken_chain_raises_instead_of_handing_out_an_old_shape() -> None:
    reg = UpcasterRegistry()
    reg.add("example.gappy", 2, lambda e: e)  # no v1 -> v2
    with pytest.raises(UpcastError, match="no upcaster from v1"):
        reg.upcast(env_dict(1, {}, event_type="example.gappy"))


def test_a_failing_or_misbehaving_step_raises_upcast_error() -> None:
    reg = UpcasterRegistry()

    @reg.register("example.boom", 1)
    def _boom(env: dict) -> dict:
        raise KeyError("missing_field")

    @reg.register("example.not_a_dict", 1)
    def _bad(env: dict) -> dict:
        return None  # type: ignore[return-value]

    with pytest.raises(UpcastError, match="v1->v2 failed: KeyError"):
        reg.upcast(env_dict(1, {}, event_type="example.boom"))
    with pytest.raises(UpcastError, match="returned NoneType"):
        reg.upcast(env_dict(1, {}, event_type="example.not_a_dict"))


def test_a_step_may_rename_the_type_and_the_new_chain_continues() -> None:
    reg = UpcasterRegistry()
    reg.add("example.old_name", 1, lambda e: {**e, "event_type": "example.new_name"})
    reg.add("example.new_name", 2, lambda e: {**e, "payload": {**e["payload"], "v3": True}})
    out = reg.upcast(env_dict(1, {"a": 1}, event_type="example.old_name"))
    assert (out["event_type"], out["schema_version"]) == ("example.new_name", 3)
    assert out["payload"] == {"a": 1, "v3": True}


def test_envelope_helpers_and_merge() -> None:
    reg = example_registry()
    env = Envelope.model_validate(env_dict(1, {"weight_g": 3}))
    up = reg.upcast_envelope(env)
    assert isinstance(up, Envelope)
    assert (up.schema_version, up.payload) == (3, {"carrier": "post", "weight": {"grams": 3}})
    assert up.event_id == env.event_id
    assert reg.upcast_envelope(up) is up
    assert reg.load(env_dict(2, {"weight": {"grams": 1}})).schema_version == 3

    other = UpcasterRegistry()
    other.add("example.other", 1, lambda e: e)
    merged = reg.merged(other)
    assert merged.known_types() == {"example.parcel_sent", "example.other"}
    with pytest.raises(ValueError, match="already registered"):
        reg.merged(example_registry())
