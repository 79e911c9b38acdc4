"""Proofs served from PostgreSQL equal the in-memory reference (tlog.tree.MemoryTree) for
random tree sizes up to 100,000, verify, and every mutation of them is rejected."""

from __future__ import annotations

import base64
import random

import pytest

from audit.log.bulk import bulk_load, plain_records
from audit.log.store import consistency_proof, fetch_nodes, inclusion_proof, root_at
from tlog.hashing import leaf_hash
from tlog.proofs import ProofError, verify_consistency, verify_inclusion
from tlog.tree import MemoryTree

from .support import make_keys, running_audit, settings_for

pytestmark = pytest.mark.integration

N = 100_000


def _mutations(proof: list[bytes]):  # type: ignore[no-untyped-def]
    for j in range(len(proof)):
        p = list(proof)
        p[j] = bytes([p[j][0] ^ 0x01]) + p[j][1:]
        yield f"flip[{j}]", p
    if proof:
        yield "drop-last", proof[:-1]
        yield "drop-first", proof[1:]
    yield "extra", [*proof, bytes(32)]
    if len(proof) > 1:
        yield "swap", [proof[1], proof[0], *proof[2:]]


async def test_proofs_from_postgres_equal_memory_tree_and_mutations_fail(
    audit_conn, infra, pg_schema
) -> None:
    rng = random.Random(9162)
    leaves = [f"leaf-{i}".encode() for i in range(N)]
    mem = MemoryTree(leaf_hash(x) for x in leaves)
    assert await bulk_load(audit_conn, plain_records(leaves)) == N
    stored = await fetch_nodes(audit_conn, list(mem.nodes)[:5000])
    assert stored == {a: mem.nodes[a] for a in list(mem.nodes)[:5000]}

    sizes = [1, 2, 3, 4, 5, 7, 8, 9, 1023, 1024, 1025, 65536, 65537, N - 1, N]
    sizes += [rng.randrange(1, N + 1) for _ in range(25)]
    checked = 0
    for size in sizes:
        root = mem.root(size)
        assert await root_at(audit_conn, size) == root
        for index in {0, size - 1, rng.randrange(size)}:
            proof = await inclusion_proof(audit_conn, index, size)
            assert proof == mem.inclusion_proof(index, size), (index, size)
            lh = mem.nodes[(0, index)]
            verify_inclusion(lh, index, size, proof, root)
            for name, bad in _mutations(proof):
                with pytest.raises(ProofError):
                    verify_inclusion(lh, index, size, bad, root)
                    pytest.fail(f"mutated inclusion proof accepted: {name} {index}/{size}")
            if index + 1 < size:
                with pytest.raises(ProofError):
                    verify_inclusion(lh, index + 1, size, proof, root)
            # (a wrong tree size is not a mutation the proof can catch by itself: the size is
            # bound by the signed checkpoint the root comes from)
            checked += 1
        for size1 in {1, size, rng.randrange(1, size + 1)}:
            proof = await consistency_proof(audit_conn, size1, size)
            assert proof == mem.consistency_proof(size1, size), (size1, size)
            r1 = mem.root(size1)
            verify_consistency(size1, size, proof, r1, root)
            if size1 == size:
                continue
            for name, bad in _mutations(proof):
                with pytest.raises(ProofError):
                    verify_consistency(size1, size, bad, r1, root)
                    pytest.fail(f"mutated consistency proof accepted: {name} {size1}->{size}")
            with pytest.raises(ProofError):
                verify_consistency(size1, size, proof, root, r1)
            if size1 + 1 < size:
                with pytest.raises(ProofError):
                    verify_consistency(size1 + 1, size, proof, r1, root)
            checked += 1
    assert checked > 100

    # and the same through the HTTP API (the service's own route, its one-query fetch)
    keys = make_keys()
    settings = settings_for(infra, pg_schema.schema, ["unused.events"], keys, run_writer=False)
    async with running_audit(settings, keys) as (_app, client):
        for _ in range(10):
            size = rng.randrange(2, N + 1)
            index = rng.randrange(size)
            r = await client.get(
                "/v1/log/proof/inclusion", params={"index": index, "tree_size": size}
            )
            assert r.status_code == 200, r.text
            body = r.json()
            assert [base64.b64decode(p) for p in body["proof"]] == mem.inclusion_proof(index, size)
            size1 = rng.randrange(1, size)
            r = await client.get(
                "/v1/log/proof/consistency", params={"first": size1, "second": size}
            )
            assert [base64.b64decode(p) for p in r.json()["proof"]] == mem.consistency_proof(
                size1, size
            )
        r = await client.get("/v1/log/proof/inclusion", params={"index": 5, "tree_size": N + 1})
        assert r.status_code == 400
