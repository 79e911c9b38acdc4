"""Documents in the portal: the clerk attaches scans, the officer (and the clerk) read them.

The portal holds no bytes: an upload is forwarded to intake as it was spooled by the form
parser (Starlette keeps a file over 1 MB on disk), a download is intake's stream passed on
with its type and `Content-Disposition`. Intake decides who may read (the portal shows its
refusal).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

from fastapi.responses import StreamingResponse

from .services_api import Api, ServiceError

DOCUMENT_ID = re.compile(r"^doc-[0-9a-f]{32}$")
PASSED_HEADERS = ("content-type", "content-disposition", "content-length", "x-content-sha256")


async def listed(api: Api, case_id: str) -> list[dict[str, Any]]:
    """The case's documents, or none when intake does not let this person read them."""
    try:
        got = await api.get("intake", f"/v1/applications/{case_id}/documents")
    except ServiceError as exc:
        if exc.status in (403, 404):
            return []
        raise
    docs: list[dict[str, Any]] = got["documents"]
    return docs


async def download(api: Api, case_id: str, document_id: str) -> StreamingResponse:
    if not DOCUMENT_ID.match(document_id):
        raise ServiceError("intake", 404, "document_id", "没有这个文档")
    r = await api.open_stream("intake", f"/v1/applications/{case_id}/documents/{document_id}")

    async def body() -> AsyncIterator[bytes]:
        try:
            async for chunk in r.aiter_raw():
                yield chunk
        finally:
            await r.aclose()

    headers = {k: v for k, v in r.headers.items() if k.lower() in PASSED_HEADERS}
    headers["Cache-Control"] = "private, no-store"
    headers["X-Content-Type-Options"] = "nosniff"
    return StreamingResponse(body(), headers=headers)
