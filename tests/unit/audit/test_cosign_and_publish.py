"""Pure parts of issue 18's audit work: which cosignature lines count, the pacing of the
POST, and the create-only checkpoint store."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from audit.http.pacing import Pacer
from audit.log import cosign
from audit.log.publish import LocalDirectoryStore, ObjectExists, PublishedCheckpoints
from tlog.note import Checkpoint, Signer, add_signatures, generate_key, sign_checkpoint

pytestmark = pytest.mark.unit

ORIGIN = "bianmin.test/audit"


def _keys(name: str) -> Signer:
    return Signer.from_key(generate_key(name)[0])


def test_only_lines_of_configured_witnesses_are_accepted_and_merged() -> None:
    log_s, w1, stranger = _keys(ORIGIN), _keys("w1.example/w"), _keys("x.example/w")
    note = sign_checkpoint(Checkpoint(ORIGIN, 5, b"\x01" * 32), [log_s])
    good = add_signatures(note, [w1])
    accepted = cosign.accept(good, log_s.verifier(), [w1.verifier()], ORIGIN)
    assert list(accepted.notes) == ["w1.example/w"]
    with pytest.raises(cosign.CosignatureRefused, match=r"unknown keys \(x\.example/w\+"):
        cosign.accept(add_signatures(good, [stranger]), log_s.verifier(), [w1.verifier()], ORIGIN)
    with pytest.raises(cosign.CosignatureRefused, match="no witness keys are configured"):
        cosign.accept(good, log_s.verifier(), [], ORIGIN)
    with pytest.raises(cosign.CosignatureRefused, match="no configured witness cosigned"):
        cosign.accept(note, log_s.verifier(), [w1.verifier()], ORIGIN)
    # a stored row carrying a stranger's line (from before the rule) adds only w1's line
    merged = cosign.merge(note, [add_signatures(good, [stranger])], [w1.verifier()])
    assert merged.count("\n— ") == 2 and "x.example/w" not in merged


def test_the_pacer_lets_a_burst_through_then_asks_to_wait() -> None:
    now = [0.0]
    p = Pacer(3, 0.5, clock=lambda: now[0])
    assert [p.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert p.take("a") == pytest.approx(2.0)
    assert p.take("b") == 0.0  # per client
    now[0] += 2.0
    assert p.take("a") == 0.0


def test_the_store_is_create_only(tmp_path: Path) -> None:
    pub = PublishedCheckpoints(LocalDirectoryStore(tmp_path))

    async def go() -> None:
        assert await pub.publish(7, "note 7\n") is True
        assert await pub.publish(7, "note 7\n") is False  # the same again: fine
        with pytest.raises(ObjectExists):
            await pub.publish(7, "another note\n")
        await pub.publish(12, "note 12\n")
        assert await pub.sizes() == [7, 12]
        assert await pub.sizes(after=7) == [12]
        assert await pub.note(7) == "note 7\n"
        assert await pub.latest() == 12

    asyncio.run(go())
