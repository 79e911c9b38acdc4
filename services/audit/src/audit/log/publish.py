"""Signed checkpoints kept OUTSIDE the database (issue 18, finding 2).

Whoever controls the audit's database (its superuser, its owner role) can cut the log back
and delete the checkpoint rows that would show it. So every checkpoint is first published to
an append-only store the database cannot touch, and only then recorded in the database:

* the checkpointer refuses to sign a tree that is not an append-only extension of EVERY
  checkpoint it ever published (`PublishedGuard`: consistency proofs from the stored nodes
  against the published roots, the whole published history once per process, then the newest
  and whatever was published since);
* `GET /v1/log/published`, `/v1/log/published/{size}` serve the store (not the database), the
  witness checks the log's current checkpoint against the newest published one, and the
  integrity check (`mode=full`) recomputes the leaves against every published root.

The store is an object-store interface (`ObjectStore`: create-only `put_new`, `get`, ordered
`keys`) so it can live on another machine; `LocalDirectoryStore` is the implementation here (a
directory, e.g. a mount the audit host may only append to; files are created with O_EXCL and
made read-only). An S3-style bucket with conditional writes (`If-None-Match: *`) and object
lock fits the same three calls. Keys: ``checkpoints/<size, 20 digits>.note``.
"""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path
from typing import Protocol

import asyncpg

from tlog.note import NoteError, Verifier, open_checkpoint
from tlog.proofs import ProofError, verify_consistency
from tlog.tree import MissingNodesError

from .store import consistency_proof, root_at

log = logging.getLogger("audit.log.publish")

PREFIX = "checkpoints/"


class ObjectStore(Protocol):
    async def put_new(self, key: str, data: bytes) -> bool:
        """Create `key`; False if it exists with the same bytes; `ObjectExists` if with others."""
        ...

    async def get(self, key: str) -> bytes | None: ...

    async def keys(self, prefix: str, after: str = "", limit: int = 1000) -> list[str]:
        """Keys under `prefix` greater than `after`, in order."""
        ...


class ObjectExists(RuntimeError):
    """A create-only write met an object with other content: nothing is overwritten."""


class LocalDirectoryStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        if ".." in key.split("/") or key.startswith("/"):
            raise ValueError(f"bad key {key!r}")
        return self.root / key

    def _put(self, key: str, data: bytes) -> bool:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)  # atomic, and fails if the name exists: create-only
        except FileExistsError:
            if path.read_bytes() == data:
                return False
            raise ObjectExists(f"{key} exists with other content") from None
        finally:
            tmp.unlink(missing_ok=True)
        os.chmod(path, 0o444)
        dfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
        return True

    async def put_new(self, key: str, data: bytes) -> bool:
        return await asyncio.to_thread(self._put, key, data)

    async def get(self, key: str) -> bytes | None:
        def read() -> bytes | None:
            try:
                return self._path(key).read_bytes()
            except FileNotFoundError:
                return None

        return await asyncio.to_thread(read)

    async def keys(self, prefix: str, after: str = "", limit: int = 1000) -> list[str]:
        def scan() -> list[str]:
            folder = self._path(prefix.rstrip("/")) if prefix else self.root
            if not folder.is_dir():
                return []
            base = prefix if prefix.endswith("/") or not prefix else prefix + "/"
            names = sorted(
                base + p.name for p in folder.iterdir() if p.is_file() and ".tmp-" not in p.name
            )
            return [k for k in names if k > after][:limit]

        return await asyncio.to_thread(scan)


def _key(size: int) -> str:
    return f"{PREFIX}{size:020d}.note"


def _size(key: str) -> int:
    return int(key[len(PREFIX) :].split(".", 1)[0])


class PublishedCheckpoints:
    """The published checkpoints of one log, over an `ObjectStore`."""

    def __init__(self, store: ObjectStore) -> None:
        self.store = store

    async def publish(self, size: int, note: str) -> bool:
        return await self.store.put_new(_key(size), note.encode("utf-8"))

    async def sizes(self, after: int = -1, limit: int = 1000) -> list[int]:
        start = _key(after) if after >= 0 else ""
        return [
            _size(k) for k in await self.store.keys(PREFIX, start, limit) if k.endswith(".note")
        ]

    async def all_sizes(self) -> list[int]:
        out: list[int] = []
        while True:
            page = await self.sizes(out[-1] if out else -1)
            if not page:
                return out
            out.extend(page)

    async def note(self, size: int) -> str | None:
        raw = await self.store.get(_key(size))
        return None if raw is None else raw.decode("utf-8")

    async def latest(self) -> int | None:
        sizes = await self.all_sizes()
        return sizes[-1] if sizes else None


def open_published(store_spec: str) -> PublishedCheckpoints:
    """`AUDIT_CHECKPOINT_STORE`: a directory path or `file://` URL."""
    path = store_spec[len("file://") :] if store_spec.startswith("file://") else store_spec
    return PublishedCheckpoints(LocalDirectoryStore(Path(path)))


class Refusal(RuntimeError):
    pass


class PublishedGuard:
    """Checks a tree (size, root, from the stored nodes) against the published checkpoints.

    The first call checks every published checkpoint; later calls the newest one checked so
    far and any published since (a published chain is consistent link by link: each was
    checked against the ones before it when it was signed, so consistency with the newest
    implies consistency with all)."""

    def __init__(self, published: PublishedCheckpoints, verifier: Verifier, origin: str) -> None:
        self.published = published
        self.verifier = verifier
        self.origin = origin
        self._seen = -1
        self._newest: tuple[int, bytes] | None = None

    async def check(self, conn: asyncpg.Connection, size: int, root: bytes) -> int:
        """Raises `Refusal`; returns how many published checkpoints were checked."""
        new: list[int] = []
        while page := await self.published.sizes(new[-1] if new else self._seen):
            new.extend(page)
        todo: list[tuple[int, bytes]] = []
        for m in new:
            note = await self.published.note(m)
            try:
                cp, _ = open_checkpoint(note or "", [self.verifier], self.origin)
            except (NoteError, ValueError) as exc:
                log.error("published checkpoint %s is not signed by this log: %s", m, exc)
                continue
            todo.append((cp.size, cp.root_hash))
        if self._newest is not None:
            todo.append(self._newest)
        for m, proot in todo:
            if m > size:
                raise Refusal(
                    f"the published checkpoint at size {m} is beyond the tree size {size}: "
                    "the log was rolled back"
                )
            if m == size:
                if proot != root:
                    raise Refusal(f"the published checkpoint at size {m} has another root")
                continue
            try:
                old = await root_at(conn, m)
                proof = await consistency_proof(conn, m, size)
            except (LookupError, MissingNodesError) as exc:
                raise Refusal(f"stored nodes cannot prove published size {m}: {exc}") from None
            if old != proot:
                raise Refusal(f"the stored nodes no longer give the published root at size {m}")
            try:
                verify_consistency(m, size, proof, proot, root)
            except ProofError as exc:
                raise Refusal(
                    f"size {size} is not consistent with published checkpoint {m}: {exc}"
                ) from None
        if new:
            self._seen = max(self._seen, new[-1])
        newest = max(todo, default=None)
        if newest is not None and (self._newest is None or newest[0] >= self._newest[0]):
            self._newest = newest
        return len(todo)
