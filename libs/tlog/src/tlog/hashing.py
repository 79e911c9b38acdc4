"""RFC 9162 §2.1 Merkle tree hashing (SHA-256), the only hash rules the rest of `tlog` uses.

Leaves and interior nodes get distinct one-byte prefixes (0x00 / 0x01) so that a leaf can never be
passed off as an interior node (second-preimage resistance). `root_from_leaf_hashes` is the plain
reference implementation of MTH; the incremental code in `tlog.tree` is tested against it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

__all__ = [
    "HASH_SIZE",
    "empty_root",
    "leaf_hash",
    "node_hash",
    "root_from_leaf_hashes",
]

HASH_SIZE = 32
"""Size in bytes of every hash in the tree (SHA-256)."""

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"
_EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    """MTH({d}) = SHA-256(0x00 || d): the hash of one leaf's canonical bytes."""
    return hashlib.sha256(_LEAF_PREFIX + bytes(data)).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right): the hash of an interior node from its two children."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def empty_root() -> bytes:
    """MTH({}) = SHA-256(""): the root of the tree with no leaves."""
    return _EMPTY_ROOT


def root_from_leaf_hashes(hashes: Iterable[bytes]) -> bytes:
    """Reference MTH over already-hashed leaves, for any number of leaves (including zero).

    Iterative, level by level: adjacent pairs are combined and an odd node at the end of a level is
    carried up unchanged. This yields exactly RFC 9162's recursive definition (split at the largest
    power of two smaller than n), because the carried node is always the right-most subtree.
    """
    level = [bytes(h) for h in hashes]
    for h in level:
        if len(h) != HASH_SIZE:
            raise ValueError(f"leaf hash must be {HASH_SIZE} bytes, got {len(h)}")
    if not level:
        return empty_root()
    while len(level) > 1:
        nxt = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0]
