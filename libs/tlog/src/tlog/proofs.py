"""Verification of RFC 9162 inclusion (§2.1.3.2) and consistency (§2.1.4.2) proofs.

These are the checks an auditor, a witness and the offline verifier run, so they follow the RFC's
algorithms step by step, and every failure is a `ProofError` with a reason rather than `False`: a
caller cannot forget to look at a return value.

Edge cases (they are pinned by the transparency-dev/merkle test vectors under
`shared/testdata/merkle`):

* inclusion: ``0 <= index < size`` is required, so nothing is ever included in the empty tree;
* consistency with ``size1 == size2``: the proof must be empty and the roots byte-for-byte equal
  (nothing is hashed, so the roots are not length-checked); for size 0 the root must also be the
  empty-tree root ``SHA-256("")``, the only root a tree of size 0 can have;
* consistency with ``size1 == 0 < size2``: always rejected. RFC 9162 §2.1.4 defines consistency
  proofs only for ``0 < size1 < size2``; every tree trivially extends the empty tree, so a witness
  with no previous checkpoint accepts the first one instead of calling this (the CLI does the
  same: an old checkpoint of size 0 only needs the empty-tree root and an empty proof).
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence

from .hashing import HASH_SIZE, empty_root, node_hash

__all__ = [
    "ProofError",
    "root_from_inclusion_proof",
    "verify_consistency",
    "verify_inclusion",
]


class ProofError(ValueError):
    """A proof did not verify (or could not be checked at all); `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _check_hashes(proof: Sequence[bytes]) -> list[bytes]:
    out = []
    for i, p in enumerate(proof):
        if not isinstance(p, bytes | bytearray | memoryview):
            raise ProofError(f"proof[{i}] is not bytes")
        if len(p) != HASH_SIZE:
            raise ProofError(f"proof[{i}] has {len(p)} bytes, want {HASH_SIZE}")
        out.append(bytes(p))
    return out


def _equal(a: bytes, b: bytes) -> bool:
    return hmac.compare_digest(bytes(a), bytes(b))


def _check_size(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ProofError(f"{name} must be a non-negative integer, got {value!r}")


def root_from_inclusion_proof(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes]
) -> bytes:
    """Run RFC 9162 §2.1.3.2 steps 1-4 and return the root the proof leads to.

    Raises `ProofError` if the proof has the wrong shape for (index, size); the caller still has to
    compare the result with a trusted root (use `verify_inclusion` for both).
    """
    _check_size("index", index)
    _check_size("size", size)
    if index >= size:  # step 1
        raise ProofError(f"leaf index {index} is not below tree size {size}")
    if len(leaf_hash) != HASH_SIZE:
        raise ProofError(f"leaf hash has {len(leaf_hash)} bytes, want {HASH_SIZE}")
    path = _check_hashes(proof)
    fn, sn = index, size - 1  # step 2
    r = bytes(leaf_hash)  # step 3
    for p in path:  # step 4
        if sn == 0:
            raise ProofError("inclusion proof is too long")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while fn and not fn & 1:  # only runs when LSB(fn) was not set
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:  # step 5, first half
        raise ProofError("inclusion proof is too short")
    return r


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that `leaf_hash` is leaf number `index` of the tree of `size` leaves with `root`.

    Returns None on success and raises `ProofError` otherwise.
    """
    calculated = root_from_inclusion_proof(leaf_hash, index, size, proof)
    if not _equal(calculated, root):
        raise ProofError("inclusion proof does not lead to the expected root")


def verify_consistency(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes
) -> None:
    """Check that the tree (size2, root2) is an append-only extension of (size1, root1).

    Follows RFC 9162 §2.1.4.2; see the module docstring for the size1 == size2 and size1 == 0
    cases. Returns None on success and raises `ProofError` otherwise.
    """
    _check_size("size1", size1)
    _check_size("size2", size2)
    if size2 < size1:
        raise ProofError(f"size2 ({size2}) is smaller than size1 ({size1})")
    if size1 == 0 < size2:
        raise ProofError("consistency with the empty tree is not provable (RFC 9162 needs size1>0)")
    if size1 == size2:
        if len(proof):
            raise ProofError("sizes are equal but the proof is not empty")
        if not _equal(root1, root2):
            raise ProofError("sizes are equal but the roots differ")
        if size1 == 0 and not _equal(root1, empty_root()):
            raise ProofError("a tree of size 0 must have the empty-tree root")
        return
    if not len(proof):  # step 1
        raise ProofError("consistency proof is empty")
    if len(root1) != HASH_SIZE or len(root2) != HASH_SIZE:
        raise ProofError(f"roots must be {HASH_SIZE} bytes")
    path = _check_hashes(proof)
    if size1 & (size1 - 1) == 0:  # step 2: size1 is a power of two
        path.insert(0, bytes(root1))
    fn, sn = size1 - 1, size2 - 1  # step 3
    while fn & 1:  # step 4
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]  # step 5
    for c in path[1:]:  # step 6
        if sn == 0:
            raise ProofError("consistency proof is too long")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while fn and not fn & 1:  # only runs when LSB(fn) was not set
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    # step 7
    if sn != 0:
        raise ProofError("consistency proof is too short")
    if not _equal(fr, root1):
        raise ProofError("consistency proof does not lead to the old root")
    if not _equal(sr, root2):
        raise ProofError("consistency proof does not lead to the new root")
