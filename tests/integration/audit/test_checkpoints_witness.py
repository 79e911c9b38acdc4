"""Checkpoints are signed only when consistent; the witness cosigns and raises alarms."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from audit.log.checkpoint import CheckpointRefused, latest_checkpoint, make_checkpoint
from audit.witness.core import EXIT_ALARM, Alarm, Unavailable, Witness
from tlog.note import Checkpoint, Signer, Verifier, generate_key, open_checkpoint, sign_checkpoint

from .support import (
    ORIGIN,
    append_leaves,
    make_keys,
    running_audit,
    settings_for,
    witness_for,
)

pytestmark = pytest.mark.integration

WITNESS_NOW = datetime(2026, 12, 7, 9, 30, tzinfo=UTC)
"""The witness's clock in these tests: what it records is stamped by the clock it is given."""


async def _tamper(conn, sql: str, *args) -> None:  # type: ignore[no-untyped-def]
    """What a database superuser can do: switch the append-only triggers off."""
    await conn.execute("SET session_replication_role = replica")
    try:
        await conn.execute(sql, *args)
    finally:
        await conn.execute("SET session_replication_role = DEFAULT")


@pytest.fixture
def signer() -> Signer:
    return Signer.from_key(generate_key(ORIGIN)[0])


async def test_checkpoints_are_signed_when_consistent(audit_conn, signer) -> None:
    assert await make_checkpoint(audit_conn, signer, ORIGIN) is None  # empty: nothing to sign
    await append_leaves(audit_conn, 13)
    cp = await make_checkpoint(audit_conn, signer, ORIGIN)
    assert cp is not None and cp.size == 13
    parsed, _ = open_checkpoint(cp.note, [signer.verifier()], ORIGIN)
    assert parsed.size == 13 and parsed.root_hash == cp.root
    assert await make_checkpoint(audit_conn, signer, ORIGIN) is None  # nothing new
    await append_leaves(audit_conn, 20, start=13)
    cp2 = await make_checkpoint(audit_conn, signer, ORIGIN)
    assert cp2 is not None and cp2.size == 33


async def _rewrite_history(conn) -> None:  # type: ignore[no-untyped-def]
    """A thorough superuser: changes leaf 3 and recomputes every node and the tree state, so
    that the stored tree is perfectly self-consistent, just not the one that was signed."""
    from tlog.hashing import leaf_hash
    from tlog.tree import MemoryTree, frontier_addresses

    leaves = [bytes(r["leaf"]) for r in await conn.fetch("SELECT leaf FROM leaves ORDER BY idx")]
    leaves[3] = leaves[3].replace(b"case-3", b"case-X")
    mem = MemoryTree(leaf_hash(x) for x in leaves)
    await _tamper(
        conn,
        "UPDATE leaves SET leaf = $1, leaf_hash = $2 WHERE idx = 3",
        leaves[3],
        leaf_hash(leaves[3]),
    )
    await _tamper(conn, "DELETE FROM nodes")
    await conn.copy_records_to_table(
        "nodes",
        records=[(lvl, i, h) for (lvl, i), h in mem.nodes.items()],
        columns=("level", "idx", "hash"),
    )
    frontier = [mem.nodes[a] for a in frontier_addresses(mem.size)]
    await _tamper(conn, "UPDATE tree_state SET root = $1, frontier = $2", mem.root(), frontier)


@pytest.mark.parametrize(
    "attack", ["rewritten_history", "frontier_node", "tree_state_root", "rollback"]
)
async def test_checkpointer_refuses_to_sign_an_inconsistent_tree(
    audit_conn, signer, attack: str
) -> None:
    await append_leaves(audit_conn, 8)
    first = await make_checkpoint(audit_conn, signer, ORIGIN)
    assert first is not None
    await append_leaves(audit_conn, 5, start=8)
    if attack == "rewritten_history":
        await _rewrite_history(audit_conn)
    elif attack == "frontier_node":
        # the subtree over leaves 0..7 is what the signed root at size 8 is made of
        await _tamper(
            audit_conn, "UPDATE nodes SET hash = $1 WHERE level = 3 AND idx = 0", b"\x02" * 32
        )
    elif attack == "tree_state_root":
        await _tamper(audit_conn, "UPDATE tree_state SET root = $1", b"\x03" * 32)
    else:
        await _tamper(audit_conn, "UPDATE tree_state SET size = 4")
    with pytest.raises(CheckpointRefused):
        await make_checkpoint(audit_conn, signer, ORIGIN)
    latest = await latest_checkpoint(audit_conn)
    assert latest is not None and latest.size == 8  # nothing new was signed


def canned(responses: dict[str, tuple[int, str]]):  # type: ignore[no-untyped-def]
    async def transport(method, path, query, body):  # type: ignore[no-untyped-def]
        if method == "POST":
            return 201, "{}"
        return responses.get(path, (404, "{}"))

    return transport


async def test_witness_cosigns_and_the_log_serves_the_cosignature(
    infra, pg_schema, topics, tmp_path: Path
) -> None:
    (intake,) = await topics("intake")
    keys = make_keys()
    w_signer_key, w_verifier_key = generate_key("inspectorate.test/w1")
    settings = settings_for(
        infra, pg_schema.schema, [intake], keys, witness_keys=w_verifier_key, run_writer=False
    )
    async with running_audit(settings, keys) as (_app, client):
        conn = await pg_schema.connect()
        try:
            log_signer = Signer.from_key(keys.signer)
            await append_leaves(conn, 5)
            await make_checkpoint(conn, log_signer, ORIGIN)
            w = witness_for(client, keys, w_signer_key, tmp_path / "w", clock=lambda: WITNESS_NOW)
            r1 = await w.poll_once()
            assert (r1.status, r1.size, r1.published) == ("first", 5, True)
            state = json.loads((tmp_path / "w" / "state.json").read_text())
            assert state["verified_at"] == WITNESS_NOW.isoformat()
            assert (await w.poll_once()).status == "unchanged"
            await append_leaves(conn, 7, start=5)
            await make_checkpoint(conn, log_signer, ORIGIN)
            r2 = await w.poll_once()
            assert (r2.status, r2.size, r2.published) == ("new", 12, True)
            note = (await client.get("/v1/log/checkpoint")).text
            w_ver = Verifier.from_key(w_verifier_key)
            cp, opened = open_checkpoint(note, [keys.log_verifier, w_ver], ORIGIN)
            assert cp.size == 12
            assert {s.name for s in opened.verified_sigs} == {ORIGIN, "inspectorate.test/w1"}
            assert (tmp_path / "w" / "checkpoints" / "12.note").exists()
            # a cosignature by an unknown witness is refused
            stranger = Signer.from_key(generate_key("stranger")[0])
            from tlog.note import add_signatures

            r = await client.post(
                "/v1/log/cosignatures", content=add_signatures(note, [stranger]).encode()
            )
            # refused even with the known witness's line in it (issue 18, finding 4)
            assert r.status_code == 422
            assert "unknown keys (stranger+" in r.json()["detail"]["reason"]
            forged = sign_checkpoint(Checkpoint(ORIGIN, 12, b"\x09" * 32), [log_signer])
            r = await client.post(
                "/v1/log/cosignatures",
                content=add_signatures(forged, [Signer.from_key(w_signer_key)]).encode(),
            )
            assert r.status_code == 422  # this log never signed that root
        finally:
            await conn.close()


async def test_witness_alarms_on_split_view_rollback_and_bad_proofs(tmp_path: Path) -> None:
    log_signer = Signer.from_key(generate_key(ORIGIN)[0])
    w_signer = Signer.from_key(generate_key("w")[0])
    from tlog.hashing import leaf_hash
    from tlog.tree import MemoryTree

    tree = MemoryTree(leaf_hash(bytes([i])) for i in range(20))

    def note(size: int, root: bytes | None = None) -> str:
        return sign_checkpoint(Checkpoint(ORIGIN, size, root or tree.root(size)), [log_signer])

    def proof(a: int, b: int, bad: bool = False) -> str:
        p = tree.consistency_proof(a, b)
        if bad:
            p[0] = bytes(32)
        return json.dumps({"proof": [base64.b64encode(x).decode() for x in p]})

    def witness(d: str, responses) -> Witness:  # type: ignore[no-untyped-def]
        return Witness(
            canned(responses),
            log_signer.verifier(),
            ORIGIN,
            w_signer,
            tmp_path / d,
            clock=lambda: WITNESS_NOW,
        )

    cases = {
        "split_view": [note(10), note(10, b"\x07" * 32)],
        "rollback": [note(10), note(6)],
        "inconsistent": [note(10), note(15)],
        "bad_signature": [note(10), note(15).replace("AAAA", "AAAB", 1)[:-5] + "AAA=\n"],
    }
    for kind, (n1, n2) in cases.items():
        w = witness(kind, {"/v1/log/checkpoint": (200, n1)})
        assert (await w.poll_once()).status == "first"
        w.transport = canned(
            {
                "/v1/log/checkpoint": (200, n2),
                "/v1/log/proof/consistency": (200, proof(10, 15, bad=True)),
            }
        )
        with pytest.raises(Alarm) as err:
            await w.poll_once()
        assert err.value.kind == kind, (kind, err.value)
        alarm = json.loads((tmp_path / kind / "ALARM.json").read_text())
        assert alarm["alarm"] == kind and alarm["evidence"]
        assert alarm["at"] == WITNESS_NOW.isoformat()
        assert await w.run(0.01, once=True) == EXIT_ALARM
        # its state did not move
        assert json.loads((tmp_path / kind / "state.json").read_text())["size"] == 10
    # a good proof is accepted
    w = witness("good", {"/v1/log/checkpoint": (200, note(10))})
    await w.poll_once()
    w.transport = canned(
        {"/v1/log/checkpoint": (200, note(15)), "/v1/log/proof/consistency": (200, proof(10, 15))}
    )
    assert (await w.poll_once()).status == "new"


async def test_a_checkpoint_published_just_before_its_commit_is_no_rollback(
    tmp_path: Path,
) -> None:
    """The log publishes a note just before it commits the row it then serves: a poll in
    between sees the published one ahead. The witness re-reads the served checkpoint for up
    to `settle_s`: caught up, it is no alarm (the poll is retried); still behind, a rollback."""
    log_signer = Signer.from_key(generate_key(ORIGIN)[0])
    from tlog.hashing import leaf_hash
    from tlog.tree import MemoryTree

    tree = MemoryTree(leaf_hash(bytes([i])) for i in range(20))

    def note(size: int) -> str:
        return sign_checkpoint(Checkpoint(ORIGIN, size, tree.root(size)), [log_signer])

    def log_serving(served: list[int]):  # type: ignore[no-untyped-def]
        """The log: served checkpoints in turn (the last stays), 12 published."""

        async def transport(method, path, query, body):  # type: ignore[no-untyped-def]
            if method == "POST":
                return 201, "{}"
            if path == "/v1/log/checkpoint":
                return 200, note(served.pop(0) if len(served) > 1 else served[0])
            if path == "/v1/log/published":
                after = int(query.get("after", -1))
                return 200, json.dumps({"sizes": [12] if after < 12 else []})
            if path == "/v1/log/published/12":
                return 200, note(12)
            return 404, "{}"

        return transport

    w = Witness(
        log_serving([10, 12]),
        log_signer.verifier(),
        ORIGIN,
        Signer.from_key(generate_key("w")[0]),
        tmp_path / "in-flight",
        clock=lambda: WITNESS_NOW,
        settle_s=1.0,
    )
    with pytest.raises(Unavailable):
        await w.poll_once()  # 10 served, 12 published, then 12 served: a commit in flight
    assert not (tmp_path / "in-flight" / "ALARM.json").exists()

    behind = Witness(
        log_serving([10]),
        log_signer.verifier(),
        ORIGIN,
        Signer.from_key(generate_key("w")[0]),
        tmp_path / "behind",
        clock=lambda: WITNESS_NOW,
        settle_s=0.5,
    )
    with pytest.raises(Alarm) as err:
        await behind.poll_once()
    assert err.value.kind == "rollback"
