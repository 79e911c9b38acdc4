"""The log re-verifies itself: leaves -> leaf hashes -> nodes -> root, against the tree state
and against every signed checkpoint. Reports the exact entry of the first problem.

Three independent records of each leaf exist: its bytes (`leaves.leaf`), its hash column
(`leaves.leaf_hash`) and the tree's level-0 node (`nodes(0, idx)`); above them the interior
nodes, the `tree_state` row and the signed checkpoints (whose signatures nobody in the
database can forge). Cross-checking them pinpoints what was touched:

==========================  =============================================================
what was done               what is reported (kind, at index)
==========================  =============================================================
a byte of a leaf changed    ``leaf_bytes_changed`` at that index (bytes vs hash column) and
                            ``leaf_node_mismatch`` (bytes vs the tree's node)
a leaf row deleted          ``missing_leaf`` at that index
two leaf rows swapped       ``leaf_node_mismatch`` at both indexes (and metadata columns vs
                            the leaf's own event_id: ``metadata_mismatch``)
a node changed / deleted    ``node_mismatch`` / ``node_missing`` with the leaf range it covers
tree_state rewritten        ``tree_state_root`` / ``tree_state_frontier`` /
                            ``tree_state_rollback`` (size below the last signed checkpoint)
everything rewritten        ``checkpoint_mismatch``: the leaves between the last checkpoint
consistently                that still matches and the first that does not
==========================  =============================================================

`full` reads every leaf once in index order (constant memory: chunks and the O(log n)
frontier) inside one REPEATABLE READ snapshot, so the appender can keep going meanwhile.
`sample` checks the tree state against the stored nodes, the consistency of the latest
checkpoint with it, and `k` random leaves with their inclusion proofs.
"""

from __future__ import annotations

import random
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import asyncpg
import orjson

from tlog.hashing import leaf_hash
from tlog.note import Checkpoint, NoteError, Verifier, open_checkpoint
from tlog.proofs import ProofError, verify_consistency, verify_inclusion
from tlog.tree import MissingNodesError, append_to_frontier, root_from_frontier

from .publish import PublishedCheckpoints
from .store import consistency_proof, fetch_nodes, inclusion_proof, root_at, tree_state


@dataclass
class Problem:
    """`index`: the exact leaf at fault; `leaves`: the [first, last] leaf range a problem can
    only be narrowed to (a bad interior node, a signed root the leaves no longer give)."""

    kind: str
    detail: str
    index: int | None = None
    leaves: tuple[int, int] | None = None


@dataclass
class IntegrityReport:
    ok: bool
    mode: str
    tree_size: int
    leaves_checked: int
    first_bad_index: int | None
    problems: list[Problem] = field(default_factory=list)
    checkpoint_size: int | None = None
    checkpoints_checked: int = 0
    published_size: int | None = None
    published_checked: int = 0
    elapsed_ms: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class _Collector:
    def __init__(self, limit: int) -> None:
        self.problems: list[Problem] = []
        self.limit = limit
        self.dropped = 0

    def add(
        self,
        kind: str,
        detail: str,
        index: int | None = None,
        leaves: tuple[int, int] | None = None,
    ) -> None:
        if len(self.problems) < self.limit:
            self.problems.append(Problem(kind, detail, index, leaves))
        else:
            self.dropped += 1

    def first_index(self) -> int | None:
        """The first exact bad index; else the start of the first bad range."""
        idx = [p.index for p in self.problems if p.index is not None]
        if idx:
            return min(idx)
        ranges = [p.leaves[0] for p in self.problems if p.leaves is not None]
        return min(ranges) if ranges else None


async def _checkpoints(
    conn: asyncpg.Connection, verifier: Verifier | None, origin: str | None, out: _Collector
) -> list[tuple[int, bytes]]:
    """The stored checkpoints (size, root), each checked against its own signed note."""
    rows = await conn.fetch("SELECT size, root, note FROM checkpoints ORDER BY size")
    cps = []
    for r in rows:
        size, root = r["size"], bytes(r["root"])
        try:
            if verifier is not None:
                cp, _ = open_checkpoint(r["note"], [verifier], origin)
            else:
                cp = Checkpoint.parse(r["note"].split("\n\n", 1)[0] + "\n")
        except (NoteError, ValueError) as exc:
            out.add("checkpoint_signature", f"checkpoint at size {size}: {exc}")
            continue
        if cp.size != size or cp.root_hash != root:
            out.add(
                "checkpoint_row",
                f"checkpoint row at size {size} does not match its signed note "
                f"(note says size {cp.size})",
            )
        # trust the signed note, not the row
        cps.append((cp.size, cp.root_hash))
    return cps


async def _published(
    published: PublishedCheckpoints | None,
    verifier: Verifier | None,
    origin: str | None,
    out: _Collector,
    *,
    newest_only: bool = False,
) -> list[tuple[int, bytes]]:
    """The checkpoints published outside the database (`audit.log.publish`), each opened with
    the log's key: what the database can no longer deny."""
    if published is None:
        return []
    sizes = await published.all_sizes()
    if newest_only:
        sizes = sizes[-1:]
    cps = []
    for size in sizes:
        note = await published.note(size) or ""
        try:
            if verifier is not None:
                cp, _ = open_checkpoint(note, [verifier], origin)
            else:
                cp = Checkpoint.parse(note.split("\n\n", 1)[0] + "\n")
        except (NoteError, ValueError) as exc:
            out.add("published_signature", f"published checkpoint at size {size}: {exc}")
            continue
        cps.append((cp.size, cp.root_hash))
    return cps


def _against_published(
    db: list[tuple[int, bytes]], pub: list[tuple[int, bytes]], size: int, out: _Collector
) -> list[tuple[int, bytes]]:
    """Database rows vs published notes, and the tree's size vs the newest published one;
    returns both merged (the published root wins where they differ)."""
    rows = dict(db)
    missing = [s for s, _ in pub if s not in rows]
    for s, root in pub:
        if s in rows and rows[s] != root:
            out.add(
                "published_mismatch",
                f"the checkpoint row at size {s} has another root than the one published",
            )
    if missing:
        out.add(
            "checkpoint_rows_missing",
            f"{len(missing)} published checkpoint(s) have no row in the database (sizes "
            f"{', '.join(map(str, missing[:10]))}{' ...' if len(missing) > 10 else ''}): "
            "checkpoint rows were deleted",
        )
    top = max((s for s, _ in pub), default=None)
    if top is not None and size < top:
        out.add(
            "published_rollback",
            f"the tree has {size} entries but a checkpoint of {top} entries was published: "
            f"entries from {size} on were rolled back",
            size,
        )
    merged = dict(db)
    merged.update(pub)
    return sorted(merged.items())


class _Recompute:
    """Folds leaf hashes into the tree, comparing every completed node with the stored one
    and the root at every checkpoint size (and at the tree_state size) as it passes them."""

    def __init__(
        self,
        conn: asyncpg.Connection,
        cps: list[tuple[int, bytes]],
        state_size: int,
        out: _Collector,
    ) -> None:
        self.conn = conn
        self.cp_roots = dict(cps)
        self.splits = sorted({s for s, _ in cps} | {state_size})
        self.state_size = state_size
        self.out = out
        self.folded = 0
        self.frontier: list[bytes] = []
        self.broken = False
        self.last_good_cp = 0
        self.cps_checked = 0
        self.state_root: bytes | None = None
        self.state_frontier: list[bytes] | None = None
        if state_size == 0:
            self.state_root, self.state_frontier = root_from_frontier([]), []

    async def fold(self, batch: list[bytes]) -> None:
        while batch and not self.broken:
            nxt = next((s for s in self.splits if s > self.folded), None)
            take = len(batch) if nxt is None else min(len(batch), nxt - self.folded)
            part, batch = batch[:take], batch[take:]
            res = append_to_frontier(self.folded, self.frontier, part)
            interior = [a for a in res.new_nodes if a[0] > 0]
            stored = await fetch_nodes(self.conn, interior)
            for addr in interior:
                lvl, i = addr
                lo, hi = i << lvl, ((i + 1) << lvl) - 1
                if addr not in stored:
                    self.out.add(
                        "node_missing",
                        f"node {addr} (leaves {lo}..{hi}) is missing",
                        None,
                        (lo, hi),
                    )
                elif stored[addr] != res.new_nodes[addr]:
                    self.out.add(
                        "node_mismatch",
                        f"stored node {addr} is not the hash of leaves {lo}..{hi}",
                        None,
                        (lo, hi),
                    )
            self.folded, self.frontier = res.size, [h for _, h in res.frontier]
            if self.folded == self.state_size:
                self.state_root = root_from_frontier(self.frontier)
                self.state_frontier = list(self.frontier)
            if self.folded in self.cp_roots:
                self.cps_checked += 1
                if root_from_frontier(self.frontier) != self.cp_roots[self.folded]:
                    self.out.add(
                        "checkpoint_mismatch",
                        f"leaves {self.last_good_cp}..{self.folded - 1} do not reproduce the "
                        f"signed root of the checkpoint at size {self.folded}",
                        None,
                        (self.last_good_cp, self.folded - 1),
                    )
                    self.broken = True
                else:
                    self.last_good_cp = self.folded


async def check_full(
    conn: asyncpg.Connection,
    verifier: Verifier | None = None,
    origin: str | None = None,
    published: PublishedCheckpoints | None = None,
    *,
    chunk: int = 5000,
    max_problems: int = 50,
) -> IntegrityReport:
    t0 = time.perf_counter()
    out = _Collector(max_problems)
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        st = await tree_state(conn)
        db_cps = await _checkpoints(conn, verifier, origin, out)
        pub = await _published(published, verifier, origin, out)
        cps = _against_published(db_cps, pub, st.size, out)
        rc = _Recompute(conn, cps, st.size, out)
        expected = 0  # the next index we expect to see
        checked = 0
        pos = 0
        while True:
            rows = await conn.fetch(
                """SELECT l.idx, l.leaf, l.leaf_hash, l.event_id, n.hash AS node
                   FROM leaves l LEFT JOIN nodes n ON n.level = 0 AND n.idx = l.idx
                   WHERE l.idx >= $1 ORDER BY l.idx LIMIT $2""",
                pos,
                chunk,
            )
            if not rows:
                break
            pos = rows[-1]["idx"] + 1
            batch: list[bytes] = []
            for r in rows:
                idx = r["idx"]
                if idx != expected:
                    out.add(
                        "missing_leaf",
                        f"leaf rows {expected}..{idx - 1} are missing"
                        if idx - 1 > expected
                        else f"leaf row {expected} is missing",
                        expected,
                    )
                    await rc.fold(batch)
                    batch = []
                    rc.broken = True  # the recomputation means nothing past a hole
                    expected = idx
                expected += 1
                checked += 1
                leaf = bytes(r["leaf"])
                lh = leaf_hash(leaf)
                if lh != bytes(r["leaf_hash"]):
                    out.add(
                        "leaf_bytes_changed",
                        f"leaf {idx}: its bytes do not hash to its stored leaf_hash",
                        idx,
                    )
                node = r["node"]
                if node is None:
                    out.add("node_missing", f"tree node (0, {idx}) of leaf {idx} is missing", idx)
                elif bytes(node) != lh:
                    out.add(
                        "leaf_node_mismatch",
                        f"leaf {idx}: its bytes are not the leaf the tree was built with",
                        idx,
                    )
                eid = r["event_id"]
                if eid is not None:
                    try:
                        doc = orjson.loads(leaf)
                        same = isinstance(doc, dict) and doc.get("event_id") == str(eid)
                    except orjson.JSONDecodeError:
                        same = False
                    if not same:
                        out.add(
                            "metadata_mismatch",
                            f"leaf {idx}: event_id column {eid} is not the leaf's event_id",
                            idx,
                        )
                batch.append(lh)
            await rc.fold(batch)
        if expected > st.size:
            out.add(
                "tree_state_size",
                f"{expected} leaf rows exist but tree_state says size {st.size}",
                st.size,
            )
        elif expected < st.size:
            out.add(
                "missing_leaf",
                f"tree_state says size {st.size} but the leaf rows end at {expected}",
                expected,
            )
        cp_top = cps[-1][0] if cps else None
        db_top = db_cps[-1][0] if db_cps else None
        if db_top is not None and st.size < db_top:
            out.add(
                "tree_state_rollback",
                f"tree_state size {st.size} is below the signed checkpoint size {db_top}: "
                f"entries from {st.size} on were rolled back",
                st.size,
            )
        if not rc.broken and rc.state_root is not None:
            if rc.state_root != st.root:
                out.add(
                    "tree_state_root",
                    f"tree_state root at size {st.size} is not the root of the leaves "
                    f"(state {st.root.hex()}, leaves {rc.state_root.hex()})",
                )
            if rc.state_frontier != st.frontier:
                out.add(
                    "tree_state_frontier",
                    f"tree_state frontier at size {st.size} is not the tree's frontier",
                )
    return IntegrityReport(
        ok=not out.problems,
        mode="full",
        tree_size=st.size,
        leaves_checked=checked,
        first_bad_index=out.first_index(),
        problems=out.problems,
        checkpoint_size=cp_top,
        checkpoints_checked=rc.cps_checked,
        published_size=pub[-1][0] if pub else None,
        published_checked=len(pub),
        elapsed_ms=round((time.perf_counter() - t0) * 1000, 1),
    )


async def check_sample(
    conn: asyncpg.Connection,
    verifier: Verifier | None = None,
    origin: str | None = None,
    published: PublishedCheckpoints | None = None,
    *,
    k: int = 256,
    rng: random.Random | None = None,
) -> IntegrityReport:
    t0 = time.perf_counter()
    out = _Collector(50)
    rng = rng or random.Random()
    checked = 0
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        st = await tree_state(conn)
        db_cps = await _checkpoints(conn, verifier, origin, out)
        pub = await _published(published, verifier, origin, out, newest_only=True)
        if pub and st.size < pub[-1][0]:
            out.add(
                "published_rollback",
                f"the tree has {st.size} entries but a checkpoint of {pub[-1][0]} entries was "
                f"published: entries from {st.size} on were rolled back",
                st.size,
            )
        newest = max([*db_cps[-1:], *pub], default=None)
        cp = newest if newest is None or newest[0] <= st.size else (db_cps[-1] if db_cps else None)
        count, top = await conn.fetchrow("SELECT count(*), coalesce(max(idx) + 1, 0) FROM leaves")
        if count != st.size or top != st.size:
            gap = await conn.fetchval(
                """SELECT expected FROM (
                       SELECT idx, coalesce(lag(idx) OVER (ORDER BY idx) + 1, 0) AS expected
                       FROM leaves) t
                   WHERE idx <> expected ORDER BY idx LIMIT 1"""
            )
            if gap is not None:
                out.add("missing_leaf", f"leaf row {gap} is missing", gap)
            if top != st.size or gap is None:
                out.add(
                    "leaf_count",
                    f"{count} leaf rows up to index {top - 1}, tree_state size {st.size}",
                    min(top, st.size),
                )
        try:
            root = await root_at(conn, st.size)
            if root != st.root:
                out.add(
                    "tree_state_root",
                    f"tree_state root at size {st.size} is not the root of the stored nodes",
                )
        except MissingNodesError as exc:
            out.add("node_missing", str(exc))
            root = None
        if cp is not None:
            if st.size < cp[0]:
                out.add(
                    "tree_state_rollback",
                    f"tree_state size {st.size} is below the signed checkpoint size {cp[0]}",
                    st.size,
                )
            elif root is not None:
                try:
                    proof = await consistency_proof(conn, cp[0], st.size)
                    verify_consistency(cp[0], st.size, proof, cp[1], root)
                except (ProofError, MissingNodesError) as exc:
                    out.add(
                        "checkpoint_mismatch",
                        f"the stored tree is not consistent with the checkpoint at size {cp[0]}: "
                        f"{exc}",
                    )
        if st.size:
            picks = sorted(set(rng.sample(range(st.size), min(k, st.size))) | {st.size - 1})
            rows = await conn.fetch(
                """SELECT l.idx, l.leaf, l.leaf_hash, n.hash AS node
                   FROM unnest($1::bigint[]) AS p(idx)
                   LEFT JOIN leaves l ON l.idx = p.idx
                   LEFT JOIN nodes n ON n.level = 0 AND n.idx = p.idx ORDER BY p.idx""",
                picks,
            )
            for want, r in zip(picks, rows, strict=True):
                if r["idx"] is None:
                    out.add("missing_leaf", f"leaf row {want} is missing", want)
                    continue
                checked += 1
                lh = leaf_hash(bytes(r["leaf"]))
                if lh != bytes(r["leaf_hash"]):
                    out.add(
                        "leaf_bytes_changed", f"leaf {want}: bytes do not hash to leaf_hash", want
                    )
                if r["node"] is None or bytes(r["node"]) != lh:
                    out.add(
                        "leaf_node_mismatch",
                        f"leaf {want}: not the leaf the tree was built with",
                        want,
                    )
                    continue
                try:
                    verify_inclusion(
                        lh, want, st.size, await inclusion_proof(conn, want, st.size), st.root
                    )
                    if cp is not None and want < cp[0] <= st.size:
                        p = await inclusion_proof(conn, want, cp[0])
                        verify_inclusion(lh, want, cp[0], p, cp[1])
                except (ProofError, MissingNodesError) as exc:
                    out.add("inclusion_failed", f"leaf {want}: {exc}", want)
    return IntegrityReport(
        ok=not out.problems,
        mode="sample",
        tree_size=st.size,
        leaves_checked=checked,
        first_bad_index=out.first_index(),
        problems=out.problems,
        checkpoint_size=cp[0] if cp else None,
        checkpoints_checked=1 if cp else 0,
        published_size=pub[-1][0] if pub else None,
        published_checked=len(pub),
        elapsed_ms=round((time.perf_counter() - t0) * 1000, 1),
    )
