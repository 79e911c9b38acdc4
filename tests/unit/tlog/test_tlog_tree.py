"""Proof generation, node addressing and incremental appends, checked against independent
references (literal RFC 9162 PATH / SUBPROOF / MTH) with fixed-seed random sizes."""

from __future__ import annotations

import random
from collections.abc import Mapping

import pytest

from tlog.hashing import HASH_SIZE, empty_root, leaf_hash, root_from_leaf_hashes
from tlog.proofs import ProofError, verify_consistency, verify_inclusion
from tlog.tree import (
    MemoryTree,
    MissingNodesError,
    NodeAddr,
    NodeRef,
    append_to_frontier,
    build_consistency_proof,
    build_inclusion_proof,
    build_root,
    consistency_proof_nodes,
    frontier_addresses,
    inclusion_proof_nodes,
    nodes_completed_by_append,
    range_parts,
    root_from_frontier,
)

pytestmark = pytest.mark.unit

N = 2048
LEAVES = [leaf_hash(b"leaf-%d" % i) for i in range(N)]
TREE = MemoryTree(LEAVES)


def _sizes(seed: int) -> list[int]:
    rng = random.Random(seed)
    return sorted(
        {
            *range(1, 40),
            63,
            64,
            65,
            1023,
            1024,
            1025,
            2000,
            2047,
            2048,
            *rng.sample(range(40, N), 40),
        }
    )


SIZES = _sizes(1)


def mth(lo: int, hi: int) -> bytes:
    return root_from_leaf_hashes(LEAVES[lo:hi])


def ref_path(m: int, lo: int, hi: int) -> list[bytes]:
    """RFC 9162 §2.1.3.1 PATH(m, D[lo:hi]), literally."""
    n = hi - lo
    if n == 1:
        return []
    k = 1 << ((n - 1).bit_length() - 1)
    if m < k:
        return [*ref_path(m, lo, lo + k), mth(lo + k, hi)]
    return [*ref_path(m - k, lo + k, hi), mth(lo, lo + k)]


def ref_subproof(m: int, lo: int, hi: int, whole: bool) -> list[bytes]:
    """RFC 9162 §2.1.4.1 SUBPROOF(m, D[lo:hi], b), literally."""
    n = hi - lo
    if m == n:
        return [] if whole else [mth(lo, hi)]
    k = 1 << ((n - 1).bit_length() - 1)
    if m <= k:
        return [*ref_subproof(m, lo, lo + k, whole), mth(lo + k, hi)]
    return [*ref_subproof(m - k, lo + k, hi, False), mth(lo, lo + k)]


class CountingStore:
    """A GetNodes over a dict that records every call."""

    def __init__(self, nodes: Mapping[NodeAddr, bytes]) -> None:
        self.nodes = nodes
        self.calls: list[list[NodeAddr]] = []

    def __call__(self, addrs: list[NodeAddr]) -> dict[NodeAddr, bytes]:
        self.calls.append(list(addrs))
        return {a: self.nodes[a] for a in addrs if a in self.nodes}


# -- addressing ------------------------------------------------------------------------------


def test_stored_nodes_are_exactly_the_complete_subtrees() -> None:
    for size in [0, 1, 2, 3, 5, 8, 13, 100, 257]:
        tree = MemoryTree(LEAVES[:size])
        expected = {(lvl, i) for lvl in range(size.bit_length() + 1) for i in range(size >> lvl)}
        assert set(tree.nodes) == expected
        for (lvl, i), h in tree.nodes.items():
            assert h == mth(i << lvl, (i + 1) << lvl)


def test_range_parts() -> None:
    assert range_parts(0, 0) == []
    assert range_parts(0, 13) == [(3, 0), (2, 2), (0, 12)]
    assert range_parts(8, 15) == [(2, 2), (1, 6), (0, 14)]
    assert range_parts(3, 9) == [(0, 3), (2, 1), (0, 8)]
    rng = random.Random(2)
    for _ in range(500):
        a = rng.randrange(0, 5000)
        b = rng.randrange(a, 5001)
        pos = a
        for lvl, idx in range_parts(a, b):
            assert idx << lvl == pos  # contiguous and aligned
            pos += 1 << lvl
        assert pos == b
    with pytest.raises(ValueError):
        range_parts(5, 4)


def test_frontier_and_root_from_frontier() -> None:
    assert frontier_addresses(0) == []
    assert frontier_addresses(11) == [(3, 0), (1, 4), (0, 10)]
    assert root_from_frontier([]) == empty_root()
    for size in SIZES:
        hashes = [TREE.nodes[a] for a in frontier_addresses(size)]
        assert root_from_frontier(hashes) == mth(0, size)
        store = CountingStore(TREE.nodes)
        assert build_root(size, store) == mth(0, size)
        assert len(store.calls) == 1


def test_node_refs_shape() -> None:
    for size in SIZES:
        rng = random.Random(size)
        for index in {0, size - 1, rng.randrange(size)}:
            refs = inclusion_proof_nodes(index, size)
            assert sum(not r.is_stored for r in refs) <= 1
            for r in refs:
                levels = [lvl for lvl, _ in r.parts]
                assert levels == sorted(set(levels), reverse=True)
                lo, hi = r.leaf_range
                assert r.hash(TREE.nodes) == mth(lo, hi)
        for size1 in {1, size, rng.randrange(1, size + 1)}:
            refs = consistency_proof_nodes(size1, size)
            assert sum(not r.is_stored for r in refs) <= 1
    ref = NodeRef(((2, 2), (1, 6), (0, 14)))
    assert ref.leaf_range == (8, 15) and not ref.is_stored
    with pytest.raises(MissingNodesError):
        ref.hash({(2, 2): LEAVES[0]})


def test_proof_node_argument_errors() -> None:
    with pytest.raises(ValueError):
        inclusion_proof_nodes(5, 5)
    with pytest.raises(ValueError):
        inclusion_proof_nodes(-1, 5)
    with pytest.raises(ValueError):
        consistency_proof_nodes(3, 2)
    with pytest.raises(ValueError):
        consistency_proof_nodes(0, 5)
    assert consistency_proof_nodes(0, 0) == []
    assert consistency_proof_nodes(7, 7) == []
    with pytest.raises(ValueError):
        TREE.root(N + 1)


# -- generation vs. verification and the RFC reference ----------------------------------------


@pytest.mark.parametrize("size", SIZES)
def test_inclusion_proofs_verify_and_match_reference(size: int) -> None:
    root = TREE.root(size)
    assert root == mth(0, size)
    rng = random.Random(size)
    indexes = range(size) if size <= 64 else {0, size - 1, *rng.sample(range(size), 12)}
    for index in indexes:
        proof = TREE.inclusion_proof(index, size)
        verify_inclusion(LEAVES[index], index, size, proof, root)
        if index % 5 == 0 or size <= 16:
            assert proof == ref_path(index, 0, size)


@pytest.mark.parametrize("size2", SIZES)
def test_consistency_proofs_verify_and_match_reference(size2: int) -> None:
    root2 = TREE.root(size2)
    rng = random.Random(-size2)
    sizes1 = (
        range(1, size2 + 1)
        if size2 <= 64
        else {1, size2 - 1, size2, *rng.sample(range(1, size2), 12)}
    )
    for size1 in sizes1:
        proof = TREE.consistency_proof(size1, size2)
        verify_consistency(size1, size2, proof, TREE.root(size1), root2)
        if size1 % 5 == 0 or size2 <= 16:
            assert proof == ref_subproof(size1, 0, size2, True)


def test_build_with_callback_fetches_once() -> None:
    rng = random.Random(3)
    for size in SIZES:
        index = rng.randrange(size)
        store = CountingStore(dict(TREE.nodes))
        proof = build_inclusion_proof(index, size, store)
        assert proof == ref_path(index, 0, size)
        assert len(store.calls) == (1 if proof else 0)
        if store.calls:
            assert len(store.calls[0]) <= 2 * size.bit_length()
            assert len(set(store.calls[0])) == len(store.calls[0])

        size1 = rng.randrange(1, size + 1)
        store = CountingStore(dict(TREE.nodes))
        proof = build_consistency_proof(size1, size, store)
        assert proof == ref_subproof(size1, 0, size, True)
        assert proof == TREE.consistency_proof(size1, size)
        assert len(store.calls) == (1 if proof else 0)


def test_build_reports_missing_nodes() -> None:
    nodes = dict(TREE.nodes)
    del nodes[(0, 5)]
    with pytest.raises(MissingNodesError) as info:
        build_inclusion_proof(4, 8, CountingStore(nodes))
    assert info.value.missing == [(0, 5)]


# -- mutations are rejected --------------------------------------------------------------------


def _incl_ok(leaf: bytes, index: int, size: int, proof: list[bytes], root: bytes) -> bool:
    try:
        verify_inclusion(leaf, index, size, proof, root)
    except ProofError:
        return False
    return True


def _cons_ok(size1: int, size2: int, proof: list[bytes], r1: bytes, r2: bytes) -> bool:
    try:
        verify_consistency(size1, size2, proof, r1, r2)
    except ProofError:
        return False
    return True


def _flips(proof: list[bytes]) -> list[list[bytes]]:
    """Every single-bit mutation of every proof node."""
    out = []
    for i, node in enumerate(proof):
        for bit in range(8 * len(node)):
            mutated = bytearray(node)
            mutated[bit // 8] ^= 1 << (bit % 8)
            out.append([*proof[:i], bytes(mutated), *proof[i + 1 :]])
    return out


def _reshaped(proof: list[bytes], extra: bytes) -> list[list[bytes]]:
    """Extended (random node at either end, repeated last node) and truncated proofs."""
    out = [[*proof, extra], [extra, *proof], [*proof, *proof[-1:]]]
    if proof:
        out += [proof[:-1], proof[1:]]
    return out


def test_inclusion_mutations_rejected() -> None:
    rng = random.Random(4)
    for _ in range(12):
        size = rng.randrange(2, N + 1)
        index = rng.randrange(size)
        leaf, root, proof = LEAVES[index], TREE.root(size), TREE.inclusion_proof(index, size)
        assert _incl_ok(leaf, index, size, proof, root)
        for bad in _flips(proof) + _reshaped(proof, rng.randbytes(HASH_SIZE)):
            assert not _incl_ok(leaf, index, size, bad, root)
        assert not _incl_ok(leaf, index - 1, size, proof, root)
        assert not _incl_ok(leaf, index + 1, size, proof, root)
        assert not _incl_ok(leaf, index, size, proof, bytes([root[0] ^ 1]) + root[1:])
        assert not _incl_ok(LEAVES[(index + 1) % size], index, size, proof, root)


def test_consistency_mutations_rejected() -> None:
    rng = random.Random(5)
    for _ in range(12):
        size2 = rng.randrange(3, N + 1)
        size1 = rng.randrange(1, size2)
        r1, r2 = TREE.root(size1), TREE.root(size2)
        proof = TREE.consistency_proof(size1, size2)
        assert _cons_ok(size1, size2, proof, r1, r2)
        for bad in _flips(proof) + _reshaped(proof, rng.randbytes(HASH_SIZE)):
            assert not _cons_ok(size1, size2, bad, r1, r2)
        # size2 +- 1 is deliberately absent: a consistency proof often fits several new sizes (as
        # an inclusion proof can); the signed checkpoint is what binds size2 to root2.
        assert not _cons_ok(size1 - 1, size2, proof, r1, r2)
        assert not _cons_ok(size1 + 1, size2, proof, r1, r2)
        assert not _cons_ok(size1, size2 * 2, proof, r1, r2)
        assert not _cons_ok(size1, size2 // 2, proof, r1, r2)
        assert not _cons_ok(size1, size2, proof, r2, r1)


# -- incremental appends ----------------------------------------------------------------------


def test_incremental_append_matches_one_shot() -> None:
    rng = random.Random(6)
    total = 1500
    store: dict[NodeAddr, bytes] = {}
    size = 0
    while size < total:
        n = min(rng.choice([0, 1, 1, 2, 3, 7, 16, 31, 64, 100]), total - size)
        get = CountingStore(store)
        res = nodes_completed_by_append(size, LEAVES[size : size + n], get)
        assert len(get.calls) == (1 if size else 0)
        if size:
            assert get.calls[0] == frontier_addresses(size)
        assert not set(res.new_nodes) & set(store), "an existing node was recomputed"
        assert res.size == size + n
        assert [a for a, _ in res.frontier] == frontier_addresses(res.size)
        store.update(res.new_nodes)
        size = res.size
        assert res.root == mth(0, size)
    one_shot = MemoryTree(LEAVES[:total])
    assert store == dict(one_shot.nodes)


def test_append_new_nodes_are_exactly_the_difference() -> None:
    rng = random.Random(7)
    for _ in range(40):
        before = rng.randrange(0, 300)
        n = rng.randrange(0, 70)
        old = MemoryTree(LEAVES[:before])
        new = MemoryTree(LEAVES[: before + n])
        frontier = [old.nodes[a] for a in frontier_addresses(before)]
        res = append_to_frontier(before, frontier, LEAVES[before : before + n])
        expected = {a: h for a, h in new.nodes.items() if a not in old.nodes}
        assert res.new_nodes == expected
        # Children are created before their parents (safe insertion order).
        seen: set[NodeAddr] = set(old.nodes)
        for lvl, idx in res.new_nodes:
            if lvl:
                assert {(lvl - 1, 2 * idx), (lvl - 1, 2 * idx + 1)} <= seen
            seen.add((lvl, idx))


def test_memory_tree_append_api() -> None:
    tree = MemoryTree()
    assert tree.size == 0 and tree.root() == empty_root()
    assert tree.append_data(b"a") == 0
    assert tree.append(leaf_hash(b"b")) == 1
    assert tree.root() == root_from_leaf_hashes([leaf_hash(b"a"), leaf_hash(b"b")])
    with pytest.raises(ValueError):
        tree.append(b"too short")
    with pytest.raises(ValueError):
        append_to_frontier(3, [], [])
    with pytest.raises(TypeError):
        tree.nodes[(0, 0)] = b"x"  # type: ignore[index]
