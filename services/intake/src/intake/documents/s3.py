"""Document bytes in S3-compatible object storage (a city's deployment), through aiobotocore.

The same content addressing as `PostgresDocumentStore`: the bytes go to `blobs/<sha256>`,
the index (hash, size, type, erased) stays in intake's PostgreSQL (`document_blobs`), so
what the routes read and what erasure keeps is the same whichever store holds the bytes.

Streaming: bytes are spooled to a temporary file part by part (S3's smallest part is 5 MiB;
held on disk, not in memory) and each part is sent from that file; a file under
`PART_BYTES` is one PUT once its hash is known; a larger one is a multipart upload to
`uploads/<uuid>`, copied server-side to its hash's key, the upload then deleted.
Downloads stream the object's body in `CHUNK_BYTES`.
"""

from __future__ import annotations

import hashlib
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from typing import Any

import anyio
import anyio.to_thread
import asyncpg
from aiobotocore.session import get_session
from botocore.exceptions import ClientError

from .store import CHUNK_BYTES, BlobMissing, BlobWriter, StoredBlob

PART_BYTES = 5 * 1024 * 1024


def blob_key(sha256: str) -> str:
    return f"blobs/{sha256}"


class _S3Writer:
    def __init__(self, store: S3DocumentStore) -> None:
        self._store = store
        self._s3 = store.client
        self._key = uuid.uuid4()
        self._upload_key = f"uploads/{self._key}"
        self._hash = hashlib.sha256()
        self._size = 0
        self._spool: Any = None
        self._spooled = 0
        self._upload_id: str | None = None
        self._parts: list[dict[str, Any]] = []

    async def write(self, data: bytes) -> None:
        self._hash.update(data)
        self._size += len(data)
        if self._spool is None:
            self._spool = anyio.wrap_file(await anyio.to_thread.run_sync(tempfile.TemporaryFile))
        await self._spool.write(data)
        self._spooled += len(data)
        if self._spooled >= PART_BYTES:
            await self._part()

    async def _body(self) -> Any:
        """The spooled part, rewound, as a file to send (botocore reads it in chunks)."""
        await self._spool.flush()
        await self._spool.seek(0)
        return self._spool.wrapped

    async def _reset(self) -> None:
        await self._spool.seek(0)
        await self._spool.truncate()
        self._spooled = 0

    async def _part(self) -> None:
        if self._upload_id is None:
            started = await self._s3.create_multipart_upload(
                Bucket=self._store.bucket, Key=self._upload_key
            )
            self._upload_id = started["UploadId"]
        number = len(self._parts) + 1
        sent = await self._s3.upload_part(
            Bucket=self._store.bucket,
            Key=self._upload_key,
            UploadId=self._upload_id,
            PartNumber=number,
            Body=await self._body(),
            ContentLength=self._spooled,
        )
        self._parts.append({"PartNumber": number, "ETag": sent["ETag"]})
        await self._reset()

    async def finish(self, content_type: str) -> StoredBlob:
        sha = self._hash.hexdigest()
        bucket, key = self._store.bucket, blob_key(sha)
        if self._upload_id is None:
            await self._s3.put_object(
                Bucket=bucket,
                Key=key,
                Body=await self._body() if self._spool is not None else b"",
                ContentLength=self._spooled,
                ContentType=content_type,
            )
        else:
            if self._spooled:
                await self._part()
            await self._s3.complete_multipart_upload(
                Bucket=bucket,
                Key=self._upload_key,
                UploadId=self._upload_id,
                MultipartUpload={"Parts": self._parts},
            )
            self._upload_id = None
            await self._s3.copy_object(
                Bucket=bucket,
                Key=key,
                CopySource={"Bucket": bucket, "Key": self._upload_key},
                ContentType=content_type,
                MetadataDirective="REPLACE",
            )
            await self._s3.delete_object(Bucket=bucket, Key=self._upload_key)
        await self._close()
        created = await self._store.index(sha, self._size, content_type, self._key)
        return StoredBlob(sha, self._size, content_type, created)

    async def _close(self) -> None:
        if self._spool is not None:
            await self._spool.aclose()
            self._spool = None

    async def abort(self) -> None:
        await self._close()
        if self._upload_id is not None:
            await self._s3.abort_multipart_upload(
                Bucket=self._store.bucket, Key=self._upload_key, UploadId=self._upload_id
            )
            self._upload_id = None


class S3DocumentStore:
    """Bytes in a bucket, the index in intake's PostgreSQL. `start()` opens the client (the
    runtime's start hook), `close()` closes it."""

    def __init__(
        self,
        pool: Callable[[], asyncpg.Pool | None],
        *,
        bucket: str,
        endpoint_url: str | None = None,
        region: str = "us-east-1",
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
    ) -> None:
        self._pool = pool
        self.bucket = bucket
        self._config: dict[str, Any] = {"region_name": region, "endpoint_url": endpoint_url}
        if access_key_id is not None:
            self._config |= {
                "aws_access_key_id": access_key_id,
                "aws_secret_access_key": secret_access_key,
            }
        self._stack = AsyncExitStack()
        self._client: Any = None

    async def start(self) -> None:
        session = get_session()
        self._client = await self._stack.enter_async_context(
            session.create_client("s3", **self._config)
        )

    async def close(self) -> None:
        await self._stack.aclose()
        self._client = None

    @property
    def client(self) -> Any:
        assert self._client is not None, "the S3 store is not started"
        return self._client

    def _p(self) -> asyncpg.Pool:
        pool = self._pool()
        assert pool is not None, "the runtime is not started"
        return pool

    async def index(self, sha: str, size: int, content_type: str, key: uuid.UUID) -> bool:
        """Record the blob (True) or find it recorded already (False; an erased one is
        recorded again: its bytes are back)."""
        row = await self._p().fetchrow(
            "INSERT INTO document_blobs (sha256, size, content_type, chunks_key)"
            " VALUES ($1, $2, $3, $4) ON CONFLICT (sha256) DO UPDATE"
            " SET erased_at = NULL, chunks_key = EXCLUDED.chunks_key"
            " WHERE document_blobs.erased_at IS NOT NULL RETURNING sha256",
            sha,
            size,
            content_type,
            key,
        )
        return row is not None

    async def writer(self) -> BlobWriter:
        return _S3Writer(self)

    async def open(self, sha256: str) -> AsyncIterator[bytes]:
        present = await self._p().fetchval(
            "SELECT 1 FROM document_blobs WHERE sha256 = $1 AND erased_at IS NULL", sha256
        )
        if present is None:
            raise BlobMissing(sha256)
        try:
            got = await self.client.get_object(Bucket=self.bucket, Key=blob_key(sha256))
        except ClientError as exc:
            raise BlobMissing(sha256) from exc
        async with got["Body"] as body:
            while chunk := await body.read(CHUNK_BYTES):
                yield chunk

    async def erase(self, sha256: str) -> bool:
        key = await self._p().fetchval(
            "UPDATE document_blobs SET erased_at = now()"
            " WHERE sha256 = $1 AND erased_at IS NULL RETURNING chunks_key",
            sha256,
        )
        if key is None:
            return False
        await self.client.delete_object(Bucket=self.bucket, Key=blob_key(sha256))
        return True

    async def forget_if_unused(self, sha256: str) -> None:
        gone = await self._p().fetchval(
            "DELETE FROM document_blobs b WHERE sha256 = $1 AND NOT EXISTS"
            " (SELECT 1 FROM case_documents d WHERE d.sha256 = b.sha256) RETURNING sha256",
            sha256,
        )
        if gone is not None:
            await self.client.delete_object(Bucket=self.bucket, Key=blob_key(sha256))
