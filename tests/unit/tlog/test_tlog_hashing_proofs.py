"""RFC 9162 hashing known answers and proof-verification edge cases."""

from __future__ import annotations

import hashlib

import pytest

from tlog.hashing import empty_root, leaf_hash, node_hash, root_from_leaf_hashes
from tlog.proofs import (
    ProofError,
    root_from_inclusion_proof,
    verify_consistency,
    verify_inclusion,
)
from tlog.tree import MemoryTree

pytestmark = pytest.mark.unit

GO_LEAVES = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
# Roots of the trees over the first 1..8 GO_LEAVES (transparency-dev/merkle verify_test.go).
GO_ROOTS = [
    bytes.fromhex(h)
    for h in (
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    )
]
H = [leaf_hash(d) for d in GO_LEAVES]


def rfc_mth(hashes: list[bytes]) -> bytes:
    """RFC 9162 §2.1.1 MTH, literally recursive (independent of both implementations)."""
    n = len(hashes)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashes[0]
    k = 1 << ((n - 1).bit_length() - 1)
    return hashlib.sha256(b"\x01" + rfc_mth(hashes[:k]) + rfc_mth(hashes[k:])).digest()


def test_known_hashes() -> None:
    assert empty_root().hex() == (
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )
    assert leaf_hash(b"") == GO_ROOTS[0]
    assert leaf_hash(b"abc") == hashlib.sha256(b"\x00abc").digest()
    a, b = H[1], H[2]
    assert node_hash(a, b) == hashlib.sha256(b"\x01" + a + b).digest()
    assert node_hash(a, b) != node_hash(b, a)
    assert root_from_leaf_hashes([]) == empty_root()


@pytest.mark.parametrize("n", range(1, 9))
def test_known_roots(n: int) -> None:
    assert root_from_leaf_hashes(H[:n]) == GO_ROOTS[n - 1]
    assert MemoryTree(H[:n]).root() == GO_ROOTS[n - 1]
    assert MemoryTree(H).root(n) == GO_ROOTS[n - 1]


def test_reference_root_matches_recursive_definition() -> None:
    hashes = [leaf_hash(i.to_bytes(4, "big")) for i in range(300)]
    for n in [*range(0, 70), 127, 128, 129, 255, 256, 257, 299, 300]:
        assert root_from_leaf_hashes(hashes[:n]) == rfc_mth(hashes[:n]), n


def test_root_from_leaf_hashes_rejects_bad_hash() -> None:
    with pytest.raises(ValueError):
        root_from_leaf_hashes([b"short"])


def test_proof_error_is_typed() -> None:
    with pytest.raises(ProofError) as info:
        verify_inclusion(H[0], 1, 1, [], GO_ROOTS[0])
    assert isinstance(info.value, ValueError)
    assert "index" in info.value.reason


def test_single_leaf_tree() -> None:
    verify_inclusion(H[0], 0, 1, [], GO_ROOTS[0])
    assert root_from_inclusion_proof(H[0], 0, 1, []) == GO_ROOTS[0]


@pytest.mark.parametrize(
    ("index", "size"), [(0, 0), (1, 1), (5, 5), (6, 5), (-1, 5), (True, 5), (0, -1)]
)
def test_inclusion_index_out_of_range(index: int, size: int) -> None:
    with pytest.raises(ProofError):
        verify_inclusion(H[0], index, size, [], GO_ROOTS[0])


def test_inclusion_shape_errors() -> None:
    tree = MemoryTree(H)
    proof = tree.inclusion_proof(5)
    root = tree.root()
    verify_inclusion(H[5], 5, 8, proof, root)
    cases = {
        "short leaf hash": (H[5][:31], proof),
        "long leaf hash": (H[5] + b"\x00", proof),
        "too short": (H[5], proof[:-1]),
        "too long": (H[5], [*proof, proof[-1]]),
        "empty element": (H[5], [*proof[:-1], b""]),
        "33-byte element": (H[5], [*proof[:-1], proof[-1] + b"\x00"]),
        "not bytes": (H[5], [*proof[:-1], proof[-1].hex()]),
    }
    for name, (lh, p) in cases.items():
        try:
            verify_inclusion(lh, 5, 8, p, root)  # type: ignore[arg-type]
        except ProofError:
            continue
        pytest.fail(f"accepted a proof with {name}")


def test_consistency_edge_cases() -> None:
    tree = MemoryTree(H)
    r3, r8 = tree.root(3), tree.root(8)
    p = tree.consistency_proof(3, 8)
    verify_consistency(3, 8, p, r3, r8)
    verify_consistency(8, 8, [], r8, r8)
    verify_consistency(0, 0, [], empty_root(), empty_root())
    bad = [
        (8, 8, [r8], r8, r8),  # equal sizes, non-empty proof
        (8, 8, [], r8, r3),  # equal sizes, different roots
        (0, 0, [], r8, r8),  # size 0 with a root that is not the empty root
        (0, 8, [], empty_root(), r8),  # RFC 9162 defines no proof from the empty tree
        (0, 8, p, empty_root(), r8),
        (8, 3, p, r8, r3),  # size2 < size1
        (3, 8, [], r3, r8),  # empty proof
        (3, 8, p, r8, r3),  # swapped roots
        (3, 8, p, r3[:31], r8),  # short root
        (3, 8, [*p, p[-1]], r3, r8),  # too long
        (3, 8, p[:-1], r3, r8),  # too short
        (-1, 8, p, r3, r8),
    ]
    for args in bad:
        with pytest.raises(ProofError):
            verify_consistency(*args)
