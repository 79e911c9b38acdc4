"""Proof generation over a store of complete-subtree hashes (the audit service's node table).

Node addressing
---------------
A stored node is addressed as ``(level, index)`` and holds the hash of the *complete* subtree over
leaves ``[index * 2**level, (index + 1) * 2**level)``. Level 0 holds the leaf hashes themselves. A
node exists in a tree of ``size`` leaves iff ``(index + 1) * 2**level <= size``, and once it exists
its hash never changes, so the table is append-only: appending leaves only ever *adds* rows (see
`append_to_frontier` / `nodes_completed_by_append`).

Proofs for a tree whose size is not a power of two also need hashes of *incomplete* subtrees on the
right edge of the tree. Those are never stored; they are computed on the fly ("ephemeral" nodes).
Every node a proof needs, stored or ephemeral, is the RFC 9162 MTH of a leaf range ``[start, end)``
where ``start`` is a multiple of the next power of two >= ``end - start``. Such a range splits
uniquely into complete subtrees of strictly decreasing size (the binary digits of its length), and
its MTH is those subtree hashes folded right to left::

    parts = (p0, p1, p2)  ->  node_hash(h(p0), node_hash(h(p1), h(p2)))

A `NodeRef` is that ordered tuple of parts. A stored node is simply a `NodeRef` with one part.

Proof builders compute the `NodeRef` list first (pure arithmetic, `inclusion_proof_nodes` /
`consistency_proof_nodes`), then fetch the union of all parts with ONE ``get_nodes`` call, so a
database adapter answers a proof with one ``WHERE (level, idx) IN (...)`` query of O(log n) rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from .hashing import HASH_SIZE, empty_root, leaf_hash, node_hash

__all__ = [
    "AppendResult",
    "GetNodes",
    "MemoryTree",
    "MissingNodesError",
    "NodeAddr",
    "NodeRef",
    "append_to_frontier",
    "build_consistency_proof",
    "build_inclusion_proof",
    "build_root",
    "consistency_proof_nodes",
    "frontier_addresses",
    "inclusion_proof_nodes",
    "node_addresses",
    "nodes_completed_by_append",
    "range_parts",
    "root_from_frontier",
]

NodeAddr = tuple[int, int]
"""``(level, index)``: the complete subtree over leaves [index * 2**level, (index+1) * 2**level)."""

GetNodes = Callable[[list[NodeAddr]], Mapping[NodeAddr, bytes]]
"""Fetches stored node hashes by address (e.g. one SQL query); may return extra entries."""


class MissingNodesError(LookupError):
    """The node store did not return hashes for some addresses a computation needs."""

    def __init__(self, missing: Sequence[NodeAddr]) -> None:
        self.missing = list(missing)
        shown = ", ".join(map(str, self.missing[:8]))
        more = "" if len(self.missing) <= 8 else f" (+{len(self.missing) - 8} more)"
        super().__init__(f"node store is missing {len(self.missing)} node(s): {shown}{more}")


@dataclass(frozen=True, slots=True)
class NodeRef:
    """One proof element: the MTH of the leaf range covered by `parts`.

    `parts` are complete subtrees, left to right, contiguous and of strictly decreasing level; the
    hash is their stored hashes folded right to left. One part means a stored node; more than one
    means an ephemeral node on the right edge of the tree.
    """

    parts: tuple[NodeAddr, ...]

    @property
    def is_stored(self) -> bool:
        return len(self.parts) == 1

    @property
    def leaf_range(self) -> tuple[int, int]:
        """The half-open leaf range [start, end) this node covers."""
        first_level, first_index = self.parts[0]
        last_level, last_index = self.parts[-1]
        return first_index << first_level, (last_index + 1) << last_level

    def hash(self, nodes: Mapping[NodeAddr, bytes]) -> bytes:
        """Compute this node's hash from stored part hashes (raises MissingNodesError)."""
        missing = [p for p in self.parts if p not in nodes]
        if missing:
            raise MissingNodesError(missing)
        h = nodes[self.parts[-1]]
        for part in reversed(self.parts[:-1]):
            h = node_hash(nodes[part], h)
        return h


def range_parts(start: int, end: int) -> list[NodeAddr]:
    """Split the leaf range [start, end) into the fewest complete subtrees, left to right.

    For a range starting at 0 (a whole tree) this is the tree's frontier, by decreasing level.
    """
    if not 0 <= start <= end:
        raise ValueError(f"bad leaf range [{start}, {end})")
    parts: list[NodeAddr] = []
    while start < end:
        # The largest aligned block at `start`: limited by start's alignment and by what fits.
        level = (start & -start).bit_length() - 1 if start else (end - start).bit_length() - 1
        while (1 << level) > end - start:
            level -= 1
        parts.append((level, start >> level))
        start += 1 << level
    return parts


def _ref(start: int, end: int) -> NodeRef:
    return NodeRef(tuple(range_parts(start, end)))


def _split(n: int) -> int:
    """The largest power of two strictly smaller than n (n >= 2): RFC 9162's k."""
    return 1 << ((n - 1).bit_length() - 1)


def inclusion_proof_nodes(index: int, size: int) -> list[NodeRef]:
    """The nodes of RFC 9162 PATH(index, D[0:size]), from the leaf's sibling up to the root."""
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is not below tree size {size}")
    refs: list[NodeRef] = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = _split(hi - lo)
        if index < lo + k:
            refs.append(_ref(lo + k, hi))
            hi = lo + k
        else:
            refs.append(_ref(lo, lo + k))
            lo += k
    refs.reverse()
    return refs


def consistency_proof_nodes(size1: int, size2: int) -> list[NodeRef]:
    """The nodes of RFC 9162 PROOF(size1, D[0:size2]) (SUBPROOF with b = true), lowest first.

    Empty when size1 == size2. Consistency with the empty tree is undefined (RFC 9162 §2.1.4
    requires 0 < size1), so size1 == 0 < size2 raises ValueError, as the verifier would reject it.
    """
    if not 0 <= size1 <= size2:
        raise ValueError(f"need 0 <= size1 <= size2, got {size1}, {size2}")
    if size1 == size2:
        return []
    if size1 == 0:
        raise ValueError("no consistency proof from the empty tree (RFC 9162 needs size1 > 0)")
    refs: list[NodeRef] = []
    lo, hi = 0, size2
    whole = True  # RFC's `b`: the old tree is exactly the current subtree's left edge so far
    while True:
        n, m = hi - lo, size1 - lo
        if m == n:
            if not whole:
                refs.append(_ref(lo, hi))
            break
        k = _split(n)
        if m <= k:
            refs.append(_ref(lo + k, hi))
            hi = lo + k
        else:
            refs.append(_ref(lo, lo + k))
            lo += k
            whole = False
    refs.reverse()
    return refs


def node_addresses(refs: Iterable[NodeRef]) -> list[NodeAddr]:
    """The distinct stored addresses needed to hash `refs`, sorted (for a single fetch)."""
    return sorted({part for ref in refs for part in ref.parts})


def _fetch(addrs: list[NodeAddr], get_nodes: GetNodes) -> Mapping[NodeAddr, bytes]:
    if not addrs:
        return {}
    got = get_nodes(list(addrs))
    missing = [a for a in addrs if a not in got]
    if missing:
        raise MissingNodesError(missing)
    for a in addrs:
        if len(got[a]) != HASH_SIZE:
            raise ValueError(f"node {a} has {len(got[a])} bytes, want {HASH_SIZE}")
    return got


def _build(refs: list[NodeRef], get_nodes: GetNodes) -> list[bytes]:
    nodes = _fetch(node_addresses(refs), get_nodes)
    return [ref.hash(nodes) for ref in refs]


def build_inclusion_proof(index: int, size: int, get_nodes: GetNodes) -> list[bytes]:
    """The RFC 9162 inclusion proof for leaf `index` in the tree of `size` leaves.

    Calls `get_nodes` at most once (never with an empty list), with every address needed.
    """
    return _build(inclusion_proof_nodes(index, size), get_nodes)


def build_consistency_proof(size1: int, size2: int, get_nodes: GetNodes) -> list[bytes]:
    """The RFC 9162 consistency proof from `size1` to `size2`; same fetch contract as above."""
    return _build(consistency_proof_nodes(size1, size2), get_nodes)


def frontier_addresses(size: int) -> list[NodeAddr]:
    """The O(log n) complete subtrees that make up the tree of `size` leaves, by decreasing level.

    Together they are a compact range over [0, size): enough to compute the root
    (`root_from_frontier`) and to keep appending (`append_to_frontier`).
    """
    if size < 0:
        raise ValueError("size must be >= 0")
    return range_parts(0, size)


def root_from_frontier(hashes: Sequence[bytes]) -> bytes:
    """The root of a tree from its frontier hashes (in `frontier_addresses` order)."""
    if not hashes:
        return empty_root()
    h = hashes[-1]
    for left in reversed(hashes[:-1]):
        h = node_hash(left, h)
    return h


def build_root(size: int, get_nodes: GetNodes) -> bytes:
    """The root of the tree of `size` leaves, from its frontier nodes (one `get_nodes` call)."""
    addrs = frontier_addresses(size)
    nodes = _fetch(addrs, get_nodes)
    return root_from_frontier([nodes[a] for a in addrs])


@dataclass(frozen=True, slots=True)
class AppendResult:
    """What appending a batch of leaves did to the tree.

    `new_nodes` are exactly the complete subtrees that did not exist at the old size and do at the
    new one, in creation order (children before parents), leaves (level 0) included: the rows the
    node store has to insert. `frontier` is the new frontier, for the next append.
    """

    size: int
    new_nodes: dict[NodeAddr, bytes]
    frontier: tuple[tuple[NodeAddr, bytes], ...]

    @property
    def root(self) -> bytes:
        return root_from_frontier([h for _, h in self.frontier])


def append_to_frontier(
    size_before: int, frontier_hashes: Sequence[bytes], new_leaf_hashes: Iterable[bytes]
) -> AppendResult:
    """Append leaf hashes to a tree known only by its frontier; O(batch + log n) hashing.

    `frontier_hashes` are the hashes of `frontier_addresses(size_before)`, in that order.
    """
    addrs = frontier_addresses(size_before)
    if len(frontier_hashes) != len(addrs):
        raise ValueError(f"size {size_before} needs {len(addrs)} frontier hashes")
    stack: list[tuple[int, int, bytes]] = [
        (lvl, idx, bytes(h)) for (lvl, idx), h in zip(addrs, frontier_hashes, strict=True)
    ]
    new_nodes: dict[NodeAddr, bytes] = {}
    size = size_before
    for h in new_leaf_hashes:
        if len(h) != HASH_SIZE:
            raise ValueError(f"leaf hash must be {HASH_SIZE} bytes, got {len(h)}")
        node = (0, size, bytes(h))
        new_nodes[(0, size)] = node[2]
        size += 1
        # Two complete subtrees of the same level at the top of the stack are siblings: merge.
        while stack and stack[-1][0] == node[0]:
            lvl, idx, left = stack.pop()
            node = (lvl + 1, idx >> 1, node_hash(left, node[2]))
            new_nodes[(node[0], node[1])] = node[2]
        stack.append(node)
    return AppendResult(
        size=size,
        new_nodes=new_nodes,
        frontier=tuple(((lvl, idx), h) for lvl, idx, h in stack),
    )


def nodes_completed_by_append(
    size_before: int, new_leaf_hashes: Iterable[bytes], get_nodes: GetNodes
) -> AppendResult:
    """`append_to_frontier`, fetching the old frontier with one `get_nodes` call (none if empty)."""
    addrs = frontier_addresses(size_before)
    nodes = _fetch(addrs, get_nodes)
    return append_to_frontier(size_before, [nodes[a] for a in addrs], new_leaf_hashes)


class MemoryTree:
    """An in-memory log storing every complete-subtree node, addressed as in the module docstring.

    The reference model for a persistent node table (and handy for tests and small tools).
    """

    def __init__(self, leaf_hashes: Iterable[bytes] = ()) -> None:
        self._nodes: dict[NodeAddr, bytes] = {}
        self._size = 0
        self._frontier: list[bytes] = []
        self.extend(leaf_hashes)

    @property
    def size(self) -> int:
        return self._size

    @property
    def nodes(self) -> Mapping[NodeAddr, bytes]:
        """Read-only view of all stored (level, index) -> hash entries."""
        return MappingProxyType(self._nodes)

    def append(self, leaf_hash_: bytes) -> int:
        """Append one leaf hash; returns its index."""
        self.extend([leaf_hash_])
        return self._size - 1

    def append_data(self, data: bytes) -> int:
        """Append a leaf by its canonical bytes (hashed with `leaf_hash`); returns its index."""
        return self.append(leaf_hash(data))

    def extend(self, leaf_hashes: Iterable[bytes]) -> AppendResult:
        """Append a batch of leaf hashes; returns the nodes the batch completed."""
        result = append_to_frontier(self._size, self._frontier, leaf_hashes)
        self._nodes.update(result.new_nodes)
        self._size = result.size
        self._frontier = [h for _, h in result.frontier]
        return result

    def get_nodes(self, addrs: list[NodeAddr]) -> dict[NodeAddr, bytes]:
        """A `GetNodes` over this tree (addresses that are not stored are left out)."""
        return {a: self._nodes[a] for a in addrs if a in self._nodes}

    def _size_arg(self, size: int | None) -> int:
        if size is None:
            return self._size
        if not 0 <= size <= self._size:
            raise ValueError(f"size {size} is not in [0, {self._size}]")
        return size

    def root(self, size: int | None = None) -> bytes:
        """The root at `size` (default: current size); any earlier size works too."""
        return build_root(self._size_arg(size), self.get_nodes)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        return build_inclusion_proof(index, self._size_arg(size), self.get_nodes)

    def consistency_proof(self, size1: int, size2: int | None = None) -> list[bytes]:
        return build_consistency_proof(size1, self._size_arg(size2), self.get_nodes)
