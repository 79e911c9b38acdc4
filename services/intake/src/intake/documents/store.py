"""Where document bytes live, behind one interface: `DocumentStore`.

Content-addressed: a blob is named by the SHA-256 of its bytes, computed while they stream
in (`BlobWriter.write`), so the same scan handed in twice is stored once. Nothing here holds
a whole file: bytes go out in chunks of `CHUNK_BYTES` as they arrive, and come back the same
way (`open`). `erase` deletes the bytes and keeps the hash (personal data: the hash stays in
the audit log and in `document_blobs`).

`PostgresDocumentStore` is the default (intake's own database, chunks in `document_chunks`;
nothing extra to run).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Protocol

import asyncpg

CHUNK_BYTES = 256 * 1024


@dataclass(frozen=True)
class StoredBlob:
    sha256: str
    size: int
    content_type: str
    created: bool
    """False when the store already held these bytes (stored once)."""


class BlobWriter(Protocol):
    async def write(self, data: bytes) -> None: ...

    async def finish(self, content_type: str) -> StoredBlob: ...

    async def abort(self) -> None: ...


class DocumentStore(Protocol):
    async def writer(self) -> BlobWriter:
        """A writer hashing what it is given while it stores it."""
        ...

    def open(self, sha256: str) -> AsyncIterator[bytes]:
        """The bytes, chunk by chunk (`BlobMissing` when none are stored)."""
        ...

    async def erase(self, sha256: str) -> bool:
        """Delete the bytes, keep the hash; True if there were bytes to delete."""
        ...

    async def forget_if_unused(self, sha256: str) -> None:
        """Drop a blob nothing refers to (an upload refused after it was stored)."""
        ...


class BlobMissing(LookupError):
    """No bytes under this hash (never stored, or erased)."""


class _PostgresWriter:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._key = uuid.uuid4()
        self._hash = hashlib.sha256()
        self._size = 0
        self._seq = 0
        self._buffer = bytearray()

    async def write(self, data: bytes) -> None:
        self._hash.update(data)
        self._size += len(data)
        self._buffer += data
        while len(self._buffer) >= CHUNK_BYTES:
            await self._flush(bytes(self._buffer[:CHUNK_BYTES]))
            del self._buffer[:CHUNK_BYTES]

    async def _flush(self, chunk: bytes) -> None:
        await self._pool.execute(
            "INSERT INTO document_chunks (chunks_key, seq, data) VALUES ($1, $2, $3)",
            self._key,
            self._seq,
            chunk,
        )
        self._seq += 1

    async def finish(self, content_type: str) -> StoredBlob:
        if self._buffer:
            await self._flush(bytes(self._buffer))
            self._buffer.clear()
        sha = self._hash.hexdigest()
        async with self._pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                "INSERT INTO document_blobs (sha256, size, content_type, chunks_key)"
                " VALUES ($1, $2, $3, $4) ON CONFLICT (sha256) DO NOTHING RETURNING sha256",
                sha,
                self._size,
                content_type,
                self._key,
            )
            created = row is not None
            if not created:
                # stored once: keep the earlier copy, unless it was erased (then these bytes
                # are stored again under the same hash)
                erased = await conn.fetchval(
                    "SELECT erased_at IS NOT NULL FROM document_blobs WHERE sha256 = $1", sha
                )
                if erased:
                    await conn.execute(
                        "UPDATE document_blobs SET chunks_key = $2, erased_at = NULL"
                        " WHERE sha256 = $1",
                        sha,
                        self._key,
                    )
                    created = True
                else:
                    await conn.execute(
                        "DELETE FROM document_chunks WHERE chunks_key = $1", self._key
                    )
        return StoredBlob(sha, self._size, content_type, created)

    async def abort(self) -> None:
        self._buffer.clear()
        await self._pool.execute("DELETE FROM document_chunks WHERE chunks_key = $1", self._key)


class PostgresDocumentStore:
    """Blobs in intake's own PostgreSQL: `document_blobs` (one row per hash) and
    `document_chunks` (the bytes, `CHUNK_BYTES` per row)."""

    def __init__(self, pool: Callable[[], asyncpg.Pool | None]) -> None:
        self._pool = pool

    def _p(self) -> asyncpg.Pool:
        pool = self._pool()
        assert pool is not None, "the runtime is not started"
        return pool

    async def writer(self) -> BlobWriter:
        return _PostgresWriter(self._p())

    async def open(self, sha256: str) -> AsyncIterator[bytes]:
        pool = self._p()
        key = await pool.fetchval(
            "SELECT chunks_key FROM document_blobs WHERE sha256 = $1 AND erased_at IS NULL",
            sha256,
        )
        if key is None:
            raise BlobMissing(sha256)
        seq = 0
        while True:
            data = await pool.fetchval(
                "SELECT data FROM document_chunks WHERE chunks_key = $1 AND seq = $2", key, seq
            )
            if data is None:
                return
            yield bytes(data)
            seq += 1

    async def erase(self, sha256: str) -> bool:
        async with self._p().acquire() as conn, conn.transaction():
            key = await conn.fetchval(
                "UPDATE document_blobs SET erased_at = now()"
                " WHERE sha256 = $1 AND erased_at IS NULL RETURNING chunks_key",
                sha256,
            )
            if key is None:
                return False
            await conn.execute("DELETE FROM document_chunks WHERE chunks_key = $1", key)
            return True

    async def forget_if_unused(self, sha256: str) -> None:
        async with self._p().acquire() as conn, conn.transaction():
            key = await conn.fetchval(
                "DELETE FROM document_blobs b WHERE sha256 = $1 AND NOT EXISTS"
                " (SELECT 1 FROM case_documents d WHERE d.sha256 = b.sha256)"
                " RETURNING chunks_key",
                sha256,
            )
            if key is not None:
                await conn.execute("DELETE FROM document_chunks WHERE chunks_key = $1", key)
