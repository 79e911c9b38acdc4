"""Signed checkpoints (C2SP tlog-checkpoint in a signed note, Ed25519), and the refusal rule.

Before signing the tree at size n, the checkpointer re-derives everything it is about to sign
from the stored nodes and checks it against what was signed before:

1. the root recomputed from the stored frontier nodes of size n equals `tree_state.root`;
2. the stored nodes still reproduce the previous checkpoint's root at its size m;
3. a consistency proof m -> n built from the stored nodes verifies (`tlog.proofs`) between the
   previous signed root and the new one;
4. the same against every checkpoint ever PUBLISHED outside the database
   (`audit.log.publish.PublishedGuard`): deleting checkpoint rows and cutting the log back
   does not make the checkpointer sign the shorter history. A new note is published before
   its row is written.

If any check fails the checkpointer REFUSES: it logs an ERROR, raises `CheckpointRefused` and
signs nothing (it will keep refusing: the log needs an investigator, not a retry). So the
service never signs two checkpoints that are not consistent: a rewritten history can at worst
stop the signing, and the witnesses see the log stall.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import asyncpg

from eventkit.loops import LoopHealth, supervise, wait_event
from eventkit.pools import PoolSource, resolve_pool
from tlog.note import Checkpoint, Signer, sign_checkpoint
from tlog.proofs import ProofError, verify_consistency

from .append import AppendOutcome
from .publish import PublishedCheckpoints, PublishedGuard, Refusal
from .store import consistency_proof, root_at, tree_state

log = logging.getLogger("audit.log.checkpoint")


class CheckpointRefused(RuntimeError):
    """The tree as stored is not consistent with what was signed before: nothing is signed."""


@dataclass(frozen=True)
class StoredCheckpoint:
    size: int
    root: bytes
    note: str


async def latest_checkpoint(conn: asyncpg.Connection) -> StoredCheckpoint | None:
    row = await conn.fetchrow("SELECT size, root, note FROM checkpoints ORDER BY size DESC LIMIT 1")
    return None if row is None else StoredCheckpoint(row["size"], bytes(row["root"]), row["note"])


async def checkpoint_at(conn: asyncpg.Connection, size: int) -> StoredCheckpoint | None:
    row = await conn.fetchrow("SELECT size, root, note FROM checkpoints WHERE size = $1", size)
    return None if row is None else StoredCheckpoint(row["size"], bytes(row["root"]), row["note"])


def _refuse(msg: str) -> CheckpointRefused:
    log.error("checkpoint REFUSED: %s", msg)
    return CheckpointRefused(msg)


async def make_checkpoint(
    conn: asyncpg.Connection,
    signer: Signer,
    origin: str,
    published: PublishedCheckpoints | None = None,
    guard: PublishedGuard | None = None,
) -> StoredCheckpoint | None:
    """Sign the current tree if it grew since the last checkpoint; None if nothing new.

    With `published`, the note is published there before the database row is written, and
    `guard` (by default a new one over `published`) first checks the tree against every
    published checkpoint (`audit.log.publish`)."""
    if published is not None and guard is None:
        guard = PublishedGuard(published, signer.verifier(), origin)
    async with conn.transaction(isolation="repeatable_read", readonly=False):
        # one snapshot for the state, the nodes and the previous checkpoint
        await conn.execute(
            "SELECT pg_advisory_xact_lock("
            "hashtextextended('audit.checkpoint:' || current_schema(), 0))"
        )
        st = await tree_state(conn)
        prev = await latest_checkpoint(conn)
        if prev is not None and st.size < prev.size:
            raise _refuse(
                f"tree_state size {st.size} is below the last checkpoint's size {prev.size}: "
                "the log was rolled back"
            )
        if prev is not None and st.size == prev.size and st.root != prev.root:
            raise _refuse(f"tree_state root at size {st.size} differs from the signed checkpoint")
        if guard is not None:
            try:
                await guard.check(conn, st.size, st.root)
            except Refusal as exc:
                raise _refuse(str(exc)) from None
        if (prev is not None and st.size == prev.size) or st.size == 0:
            return None
        try:
            root = await root_at(conn, st.size)
        except LookupError as exc:
            raise _refuse(f"stored nodes are incomplete for size {st.size}: {exc}") from None
        if root != st.root:
            raise _refuse(
                f"tree_state root {st.root.hex()} at size {st.size} is not the root of the "
                f"stored nodes ({root.hex()})"
            )
        if prev is not None:
            try:
                old = await root_at(conn, prev.size)
                proof = await consistency_proof(conn, prev.size, st.size)
            except LookupError as exc:
                raise _refuse(f"stored nodes are incomplete: {exc}") from None
            if old != prev.root:
                raise _refuse(
                    f"stored nodes no longer reproduce the signed root at size {prev.size}"
                )
            try:
                verify_consistency(prev.size, st.size, proof, prev.root, root)
            except ProofError as exc:
                raise _refuse(
                    f"size {st.size} is not consistent with checkpoint {prev.size}: {exc}"
                ) from None
        note = sign_checkpoint(Checkpoint(origin, st.size, root), [signer])
        if published is not None:
            # outside the database first: a row without a published note never exists
            await published.publish(st.size, note)
        await conn.execute(
            "INSERT INTO checkpoints (size, root, note) VALUES ($1, $2, $3)", st.size, root, note
        )
        log.info("checkpoint signed", extra={"size": st.size, "root": root.hex()})
        return StoredCheckpoint(st.size, root, note)


class Checkpointer:
    """Signs every `every` entries or every `seconds` (when something new was appended)."""

    def __init__(
        self,
        pool: PoolSource,
        signer: Signer,
        origin: str,
        every: int,
        seconds: float,
        published: PublishedCheckpoints | None = None,
    ) -> None:
        """`pool`: the pool, or a callable returning it once the runtime has started (the
        checkpointer is built before)."""
        self.pool = pool
        self.published = published
        self.guard = (
            PublishedGuard(published, signer.verifier(), origin) if published is not None else None
        )
        self.signer = signer
        self.origin = origin
        self.every = max(1, every)
        self.seconds = seconds
        self.pending = 0
        self.refused: str | None = None
        self.signed = 0
        self._wake = asyncio.Event()
        self.health = LoopHealth("checkpointer")

    def notify(self, outcome: AppendOutcome) -> None:
        self.pending += outcome.appended
        if self.pending >= self.every:
            self._wake.set()

    async def once(self) -> StoredCheckpoint | None:
        async with resolve_pool(self.pool).acquire() as conn:
            try:
                cp = await make_checkpoint(
                    conn, self.signer, self.origin, self.published, self.guard
                )
            except CheckpointRefused as exc:
                self.refused = str(exc)
                raise
        self.refused = None
        self.pending = 0
        if cp is not None:
            self.signed += 1
        return cp

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """`rounds` until `stop` is set or the task is cancelled, restarted after any error
        (what a test or a tool runs; the service supervises `rounds` through its runtime)."""
        await supervise(
            "checkpointer",
            self.rounds,
            stop=stop or asyncio.Event(),
            health=self.health,
            logger=log,
        )

    async def rounds(self, health: LoopHealth) -> None:
        """Sign what is new, then wait for a wake-up (enough appended) or `seconds`; an error
        ends the rounds (`supervise` logs it and starts them again). A refusal is not an
        error to retry: the loop shows `blocked` with the reason and keeps refusing until
        someone has looked at the log."""
        self.health = health
        while True:
            self._wake.clear()
            try:
                await self.once()
            except CheckpointRefused as exc:
                health.blocked(f"checkpoint refused: {exc}")
            else:
                health.running()
            await wait_event(self._wake, self.seconds)
