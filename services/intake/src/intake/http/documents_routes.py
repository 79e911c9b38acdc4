"""Documents of a case: upload (multipart, streamed), list, download (streamed).

`POST /v1/applications/{case_id}/documents?material_code=ID_CARD` takes one or more `file`
parts; each is a scan or photo of that material (a material of the case's catalog version),
taken with the application, the supplement or the correction (`domain.documents`). Before a
byte is read, the case, the caller and the material are checked. Then each file streams:

- its type is sniffed from its first bytes (`contracts.documents.sniff`): not a PDF, JPEG or
  PNG -> 415 naming the file; more than `MAX_DOCUMENT_BYTES`, or more than the case may hold
  -> 413 naming the file, as soon as the count passes the limit;
- a PDF goes straight to the store in chunks, hashed on the way (`documents.store`);
- a photo is spooled to a temporary file, re-encoded without its metadata in a worker thread
  (`documents.photos`), then streamed to the store the same way.

Only when every file is stored are the `intake.document_attached` events appended, in one
transaction: a refused request attaches nothing (blobs it stored alone are dropped). The
events carry the hash, size, type and material, never the bytes or the file's name.

Reads: `access.document_reader` (narrower than reading the case); every download is recorded
in `document_reads` with who read it.
"""

from __future__ import annotations

import asyncio
import tempfile
import urllib.parse
from dataclasses import dataclass
from pathlib import Path as FsPath
from typing import Any

import anyio
import orjson
from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import StreamingResponse

from contracts.documents import EXTENSION, SNIFF_BYTES, ContentType, sniff
from contracts.limits import (
    CODE_PATTERN,
    MAX_CASE_DOCUMENT_BYTES,
    MAX_CASE_DOCUMENTS,
    MAX_CODE,
    MAX_DOCUMENT_BYTES,
    MAX_FILE_NAME,
)
from eventkit.auth import Principal, require_roles
from eventkit.edge import LINE_CONTROL, control_reason
from eventkit.openapi import errors

from ..documents.multipart import BadMultipart, PartEnd, PartStart, parts
from ..documents.photos import NotAnImage, TooManyPixels, strip_metadata
from ..documents.store import BlobMissing, BlobWriter, StoredBlob
from ..domain.application_commands import AttachDocument
from ..domain.documents import STAGE_OF, document_id
from ..domain.errors import parse_command
from ..runtime import CenterTiers, IntakeRuntime
from .access import (
    CASE_READERS,
    CASE_WRITERS,
    actor_of,
    require_document_read,
    require_owner_if_resident,
    require_registered_actor,
)
from .case_flow import case_row, core_of
from .errors import refuse

router = APIRouter(prefix="/v1/applications", tags=["documents"], responses=errors(403, 404))

UPLOAD_PATH = r"/v1/applications/case-[0-9a-f]{32}/documents"
"""The one path whose body `EdgeGuard` passes on unbuffered (`create_app(streamed_paths=)`)."""

CaseId = Path(pattern=r"^case-[0-9a-f]{32}$", description="The case id (`case-<32 hex>`)")
DocId = Path(pattern=r"^doc-[0-9a-f]{32}$", description="The document id (`doc-<32 hex>`)")
SPOOL_CHUNK = 256 * 1024

_UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {
                            "type": "array",
                            "items": {"type": "string", "format": "binary"},
                            "description": "PDF, JPEG or PNG scans or photos of the material",
                        }
                    },
                }
            }
        },
    }
}


@dataclass
class _Staged:
    file_name: str
    blob: StoredBlob


def _file_name(raw: str | None) -> str:
    """The file's own name (no directories), for the download's Content-Disposition."""
    if not raw:
        raise refuse(422, "file", "each file part needs a filename")
    name = raw.replace("\\", "/").rsplit("/", 1)[-1].strip()
    if not name or len(name) > MAX_FILE_NAME:
        raise refuse(422, "file", f"a file name is 1..{MAX_FILE_NAME} characters")
    bad = control_reason(name, LINE_CONTROL)
    if bad:
        raise refuse(422, "file", f"the file name {bad}")
    return name


class _FileUpload:
    """One file part on its way to the store."""

    def __init__(self, core: IntakeRuntime, name: str, room: int, spool: FsPath) -> None:
        self.core = core
        self.name = name
        self.room = room  # bytes the case may still take
        self.size = 0
        self.head = bytearray()
        self.content_type: ContentType | None = None
        self.writer: BlobWriter | None = None
        self.spool_path = spool
        self.spool: Any = None

    def _too_large(self, size: int) -> None:
        if size > MAX_DOCUMENT_BYTES:
            raise refuse(
                413,
                "file",
                f"{self.name}: larger than the {MAX_DOCUMENT_BYTES} bytes a file may be",
            )
        if size > self.room:
            raise refuse(
                413,
                "file",
                f"{self.name}: the case's documents would exceed {MAX_CASE_DOCUMENT_BYTES} bytes",
            )

    async def data(self, chunk: bytes) -> None:
        self.size += len(chunk)
        self._too_large(self.size)
        if self.content_type is None:
            self.head += chunk
            if len(self.head) < SNIFF_BYTES:
                return
            await self._start()
            chunk, self.head = bytes(self.head), bytearray()
        await self._forward(chunk)

    async def _start(self) -> None:
        kind = sniff(bytes(self.head))
        if kind is None:
            raise refuse(
                415, "file", f"{self.name}: not a PDF, JPEG or PNG (judged by its contents)"
            )
        self.content_type = kind
        if kind == "application/pdf":
            self.writer = await self.core.documents.writer()
        else:
            self.spool = await anyio.open_file(self.spool_path, "wb")

    async def _forward(self, chunk: bytes) -> None:
        if self.writer is not None:
            await self.writer.write(chunk)
        else:
            await self.spool.write(chunk)

    async def end(self) -> StoredBlob:
        if self.content_type is None:
            if not self.head:
                raise refuse(422, "file", f"{self.name}: the file is empty")
            await self._start()
            await self._forward(bytes(self.head))
        assert self.content_type is not None
        if self.writer is None:  # a photo: strip its metadata, then store
            await self.spool.aclose()
            clean = self.spool_path.with_suffix(".clean")
            try:
                await asyncio.to_thread(strip_metadata, self.spool_path, clean, self.content_type)
            except TooManyPixels as exc:
                raise refuse(413, "file", f"{self.name}: too many pixels ({exc})") from exc
            except NotAnImage as exc:
                raise refuse(
                    415, "file", f"{self.name}: not a readable {self.content_type} ({exc})"
                ) from exc
            self._too_large((await anyio.Path(clean).stat()).st_size)
            self.writer = await self.core.documents.writer()
            async with await anyio.open_file(clean, "rb") as f:
                while chunk := await f.read(SPOOL_CHUNK):
                    await self.writer.write(chunk)
        return await self.writer.finish(self.content_type)

    async def abort(self) -> None:
        if self.spool is not None:
            await self.spool.aclose()
        if self.writer is not None:
            await self.writer.abort()


async def _check_case(
    core: IntakeRuntime, principal: Principal, case_id: str, material_code: str
) -> int:
    """Everything that can be refused before a byte is read; the bytes the case may still
    take."""
    async with core.pool.acquire() as conn:
        row = await case_row(conn, case_id)
        require_owner_if_resident(principal, row, core.applicant_keys)
        if core.settings.require_known_center:
            await require_registered_actor(conn, principal)
        if row["status"] not in STAGE_OF:
            raise refuse(
                409,
                "status",
                f"the case is {row['status']}; documents are taken with the application, the "
                "supplement or the correction, before the decision",
            )
        listed = {m["code"] for m in orjson.loads(row["required_materials"] or "[]")}
        if material_code not in listed:
            raise refuse(
                422,
                "material_code",
                f"{material_code} is not in this item's material list "
                f"({', '.join(sorted(listed))})",
            )
        count, used = await conn.fetchrow(
            "SELECT count(*), coalesce(sum(size), 0) FROM case_documents WHERE case_id = $1",
            case_id,
        )
    if count >= MAX_CASE_DOCUMENTS:
        raise refuse(413, "file", f"a case holds at most {MAX_CASE_DOCUMENTS} documents")
    return MAX_CASE_DOCUMENT_BYTES - int(used)


async def _receive_files(
    core: IntakeRuntime, request: Request, room: int, workdir: FsPath
) -> list[_Staged]:
    staged: list[_Staged] = []
    current: _FileUpload | None = None
    try:
        async for event in parts(request.headers.get("content-type", ""), request.stream()):
            if isinstance(event, PartStart):
                if event.name != "file":
                    raise refuse(422, event.name or "(part)", "the only form field is `file`")
                name = _file_name(event.filename)
                spool = workdir / f"part{len(staged)}"
                current = _FileUpload(core, name, room, spool)
            elif isinstance(event, PartEnd):
                assert current is not None
                blob = await current.end()
                staged.append(_Staged(current.name, blob))
                room -= blob.size
                current = None
            else:
                assert current is not None
                await current.data(event)
    except BadMultipart as exc:
        raise refuse(415, "Content-Type", str(exc)) from exc
    except BaseException:
        if current is not None:
            await current.abort()
        for s in staged:
            if s.blob.created:
                await core.documents.forget_if_unused(s.blob.sha256)
        raise
    if not staged:
        raise refuse(422, "file", "no file was sent")
    return staged


@router.post(
    "/{case_id}/documents",
    status_code=201,
    summary="Attach scans or photos of one material (multipart, streamed)",
    openapi_extra=_UPLOAD_BODY,
    responses={
        409: {"description": "the case's status does not take documents"},
        413: {"description": "a file, or the case's documents, too large (names the file)"},
        415: {"description": "not a PDF, JPEG or PNG by its contents (names the file)"},
        422: {"description": "a field is wrong"},
    },
)
async def attach_documents(
    request: Request,
    case_id: str = CaseId,
    material_code: str = Query(
        min_length=1,
        max_length=MAX_CODE,
        pattern=CODE_PATTERN,
        description="The material of the case's list these files show",
    ),
    principal: Principal = Depends(require_roles(*CASE_WRITERS)),
) -> dict[str, Any]:
    core = core_of(request)
    room = await _check_case(core, principal, case_id, material_code)
    with tempfile.TemporaryDirectory(prefix="intake-upload-") as tmp:
        staged = await _receive_files(core, request, room, FsPath(tmp))
    center = principal.org_id if principal.role != "resident" else None
    out = []
    try:
        async with core.pool.acquire() as conn, conn.transaction():
            row = await case_row(conn, case_id)
            tiers = CenterTiers()
            for s in staged:
                doc_id = document_id(case_id, material_code, s.blob.sha256)
                command = parse_command(
                    AttachDocument,
                    {
                        "case_id": case_id,
                        "actor": actor_of(principal),
                        "document_id": doc_id,
                        "material_code": material_code,
                        "sha256": s.blob.sha256,
                        "size": s.blob.size,
                        "content_type": s.blob.content_type,
                        "received_center_id": center,
                    },
                )
                outcome = await core.handle_case(
                    conn,
                    command,
                    actor=actor_of(principal),
                    tiers=tiers,
                    accepting_center_id=row["accepting_center_id"],
                )
                event = outcome.envelopes[0] if outcome.envelopes else None
                if event is not None:
                    await conn.execute(
                        "INSERT INTO case_documents (document_id, case_id, material_code,"
                        " sha256, size, content_type, file_name, stage, attached_by,"
                        " attached_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                        doc_id,
                        case_id,
                        material_code,
                        s.blob.sha256,
                        s.blob.size,
                        s.blob.content_type,
                        s.file_name,
                        event.payload["stage"],
                        principal.sub,
                        event.occurred_at,
                    )
                out.append(
                    {
                        "document_id": doc_id,
                        "material_code": material_code,
                        "file_name": s.file_name,
                        "sha256": s.blob.sha256,
                        "size": s.blob.size,
                        "content_type": s.blob.content_type,
                        "event_id": str(event.event_id) if event else None,
                        "download_url": f"/v1/applications/{case_id}/documents/{doc_id}",
                    }
                )
    except BaseException:
        for s in staged:
            if s.blob.created:
                await core.documents.forget_if_unused(s.blob.sha256)
        raise
    core.runtime.wake_relay()
    return {"case_id": case_id, "documents": out}


async def _readable_case(
    core: IntakeRuntime, principal: Principal, case_id: str
) -> tuple[Any, str]:
    async with core.pool.acquire() as conn:
        row = await case_row(conn, case_id)
        progress = await conn.fetchrow("SELECT * FROM case_progress WHERE case_id = $1", case_id)
        if core.settings.require_known_center:
            await require_registered_actor(conn, principal)
        why = await require_document_read(conn, principal, row, progress, core.applicant_keys)
    return row, why


@router.get("/{case_id}/documents", summary="The case's documents (hashes, not bytes)")
async def list_documents(
    request: Request,
    case_id: str = CaseId,
    principal: Principal = Depends(require_roles(*CASE_READERS)),
) -> dict[str, Any]:
    core = core_of(request)
    await _readable_case(core, principal, case_id)
    rows = await core.pool.fetch(
        "SELECT d.*, b.erased_at FROM case_documents d"
        " LEFT JOIN document_blobs b ON b.sha256 = d.sha256"
        " WHERE d.case_id = $1 ORDER BY d.attached_at, d.document_id",
        case_id,
    )
    return {
        "case_id": case_id,
        "documents": [
            {
                "document_id": r["document_id"],
                "material_code": r["material_code"],
                "file_name": r["file_name"],
                "sha256": r["sha256"],
                "size": r["size"],
                "content_type": r["content_type"],
                "stage": r["stage"],
                "attached_by": r["attached_by"],
                "attached_at": r["attached_at"].isoformat(),
                "erased": r["erased_at"] is not None,
                "download_url": f"/v1/applications/{case_id}/documents/{r['document_id']}",
            }
            for r in rows
        ],
    }


def _disposition(file_name: str, content_type: str) -> str:
    ascii_name = file_name.encode("ascii", "ignore").decode().replace('"', "") or (
        f"document.{EXTENSION.get(content_type, 'bin')}"  # type: ignore[call-overload]
    )
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''" + urllib.parse.quote(
        file_name, safe=""
    )


@router.get(
    "/{case_id}/documents/{document_id}",
    summary="Download one document (streamed; the read is recorded)",
    responses={410: {"description": "the bytes were erased; the hash stays"}},
    response_class=StreamingResponse,
)
async def download_document(
    request: Request,
    case_id: str = CaseId,
    document_id: str = DocId,
    principal: Principal = Depends(require_roles(*CASE_READERS)),
) -> StreamingResponse:
    core = core_of(request)
    await _readable_case(core, principal, case_id)
    doc = await core.pool.fetchrow(
        "SELECT * FROM case_documents WHERE case_id = $1 AND document_id = $2",
        case_id,
        document_id,
    )
    if doc is None:
        raise refuse(404, "document_id", f"no document {document_id} on {case_id}")
    chunks = core.documents.open(doc["sha256"])
    try:
        first = await anext(chunks)
    except (BlobMissing, StopAsyncIteration) as exc:
        raise refuse(
            410, "document_id", "the document's bytes were erased; its hash stays in the log"
        ) from exc
    await core.pool.execute(
        "INSERT INTO document_reads (document_id, case_id, reader, role, org_id)"
        " VALUES ($1, $2, $3, $4, $5)",
        document_id,
        case_id,
        principal.sub,
        principal.role,
        principal.org_id,
    )

    async def body() -> Any:
        yield first
        async for chunk in chunks:
            yield chunk

    return StreamingResponse(
        body(),
        media_type=doc["content_type"],
        headers={
            "Content-Disposition": _disposition(doc["file_name"], doc["content_type"]),
            "Content-Length": str(doc["size"]),
            "X-Content-Type-Options": "nosniff",
            "X-Content-SHA256": doc["sha256"],
            "Cache-Control": "private, no-store",
        },
    )
