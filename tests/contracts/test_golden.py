"""Golden JSON envelopes pin each (event type, schema version); see golden/README.md."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

import contracts.intake
import contracts.joint
import contracts.notify
import contracts.routing
import contracts.sitreports  # noqa: F401  (registers every published event type)
from contracts.upcasters import UPCASTERS
from eventkit.envelope import Envelope
from eventkit.upcasting import UpcasterRegistry

pytestmark = pytest.mark.unit

GOLDEN = Path(__file__).with_name("golden")
FILE_RE = re.compile(r"^v([1-9][0-9]*)\.json$")

#: Example only (not part of the published language): exercises the mechanism until real
#: event types have more than one version.
EXAMPLE_TYPES = frozenset({"example.parcel_sent"})


def example_registry() -> UpcasterRegistry:
    reg = UpcasterRegistry()

    @reg.register("example.parcel_sent", from_version=1)
    def _v1_to_v2(env: dict[str, Any]) -> dict[str, Any]:
        payload = dict(env["payload"])
        payload["weight"] = {"grams": payload.pop("weight_g")}
        return {**env, "payload": payload}

    @reg.register("example.parcel_sent", from_version=2)
    def _v2_to_v3(env: dict[str, Any]) -> dict[str, Any]:
        return {**env, "payload": {"carrier": "post", **env["payload"]}}

    return reg


#: Every registry whose chains the goldens must pin: the example's and the contracts'.
REGISTRIES: list[Callable[[], UpcasterRegistry]] = [example_registry, lambda: UPCASTERS]


def registry() -> UpcasterRegistry:
    regs = [f() for f in REGISTRIES]
    return regs[0].merged(*regs[1:])


def goldens() -> dict[str, dict[int, Path]]:
    out: dict[str, dict[int, Path]] = {}
    for d in sorted(p for p in GOLDEN.iterdir() if p.is_dir()):
        for f in sorted(d.iterdir()):
            m = FILE_RE.match(f.name)
            assert m, f"unexpected file in golden/: {f.relative_to(GOLDEN)} (want v<N>.json)"
            out.setdefault(d.name, {})[int(m.group(1))] = f
    return out


GOLDENS = goldens()
ALL_FILES = [(t, v, p) for t, vs in GOLDENS.items() for v, p in sorted(vs.items())]
PAIRS = [(t, v) for t, vs in GOLDENS.items() for v in sorted(vs) if v + 1 in vs]


def load(path: Path) -> dict[str, Any]:
    return orjson.loads(path.read_bytes())


def test_the_example_is_there_so_the_mechanism_is_exercised() -> None:
    assert EXAMPLE_TYPES <= set(GOLDENS)
    assert PAIRS, "at least one version pair must be pinned"


@pytest.mark.parametrize(("event_type", "version", "path"), ALL_FILES, ids=lambda x: str(x))
def test_each_golden_is_a_valid_envelope_of_its_type_and_version(
    event_type: str, version: int, path: Path
) -> None:
    text = path.read_bytes()
    data = orjson.loads(text)
    env = Envelope.from_json(text)
    assert env.event_type == event_type
    assert env.schema_version == version
    # Round trip: nothing dropped, renamed or reformatted by the model.
    assert env.to_json_dict() == data
    # The file is in the one readable form, so diffs stay small and reviewable.
    assert text == orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


@pytest.mark.parametrize(("event_type", "version"), PAIRS, ids=lambda x: str(x))
def test_upcasting_a_golden_gives_the_next_golden(event_type: str, version: int) -> None:
    reg = registry()
    assert reg.step(event_type, version), f"no upcaster for {event_type} v{version}"
    older = load(GOLDENS[event_type][version])
    newer = load(GOLDENS[event_type][version + 1])
    assert reg.upcast(older, to_version=version + 1) == newer


def test_every_golden_upcasts_to_the_latest_golden() -> None:
    reg = registry()
    for event_type, versions in GOLDENS.items():
        latest = max(versions)
        expected = load(versions[latest])
        for v, path in versions.items():
            assert reg.upcast(load(path)) == expected, f"{event_type} v{v} -> v{latest}"


def test_every_upcaster_step_is_pinned_by_goldens() -> None:
    reg = registry()
    for event_type, from_version in reg.steps():
        have = GOLDENS.get(event_type, {})
        for v in (from_version, from_version + 1):
            assert v in have, f"missing golden/{event_type}/v{v}.json"
    for event_type in reg.known_types():
        if event_type in GOLDENS:
            assert max(GOLDENS[event_type]) == reg.latest(event_type), event_type


def test_contract_types_with_goldens_match_their_models() -> None:
    from contracts.base import REGISTRY, payload_of

    assert not EXAMPLE_TYPES & set(REGISTRY), "the example must not leak into the contracts"
    for event_type, model in REGISTRY.items():
        versions = GOLDENS.get(event_type)
        if not versions:
            continue  # not pinned yet; see golden/README.md
        latest = max(versions)
        assert model.schema_version == latest, f"{event_type}: model v{model.schema_version}"
        env = Envelope.model_validate(load(versions[latest]))
        payload_of(env)  # raises if the golden payload does not fit the model


def test_every_published_event_type_has_a_golden() -> None:
    """The published language is pinned whole: a new event type needs its golden file."""
    from contracts.base import REGISTRY

    missing = sorted(set(REGISTRY) - set(goldens()))
    assert not missing, f"event types without tests/contracts/golden/<type>/v<N>.json: {missing}"
