"""Documents: the scans and photos of a case's materials, as the published language knows them.

A document is stored once, content-addressed: its SHA-256 (of the bytes as stored, after
photo metadata is stripped), size and type go in the `intake.document_attached` event, never
the bytes, so every document's fingerprint is a leaf of the audit's Merkle log: an inspector
proves which file was handed in and that it was never swapped. The bytes are personal data;
erasing them (the personal-data issue) leaves the hash in the log.

The type is sniffed from the first bytes (`sniff`), never taken from the file name or the
client's Content-Type: a PDF, a JPEG or a PNG, nothing else.
"""

from __future__ import annotations

from typing import Annotated, Final, Literal

from pydantic import Field, StringConstraints

from .base import DomainEvent, event
from .limits import ActorId, Code, Identifier

ContentType = Literal["application/pdf", "image/jpeg", "image/png"]
CONTENT_TYPES: Final[tuple[ContentType, ...]] = ("application/pdf", "image/jpeg", "image/png")
EXTENSION: Final[dict[ContentType, str]] = {
    "application/pdf": "pdf",
    "image/jpeg": "jpg",
    "image/png": "png",
}
SNIFF_BYTES: Final = 8
"""How many leading bytes `sniff` needs."""

Stage = Literal["intake", "supplement", "correction"]
"""When the document was handed in: with the application, after the one-time notice, or as
the correction (补正) the deciding office asked for."""

Sha256 = Annotated[
    str,
    StringConstraints(min_length=64, max_length=64, pattern=r"^[0-9a-f]{64}$"),
    Field(description="SHA-256 of the stored bytes, lowercase hex"),
]


def sniff(head: bytes) -> ContentType | None:
    """The type the bytes say they are (their magic number), or None."""
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    return None


@event
class DocumentAttached(DomainEvent):
    """A scan or photo of one material of the case, stored once under its SHA-256.

    `material_code` is a material of the case's catalog version; `document_id` names this
    attachment (the same bytes attached twice are stored once, attached twice)."""

    event_type = "intake.document_attached"

    case_id: Identifier
    document_id: Identifier
    material_code: Code
    sha256: Sha256
    size: Annotated[int, Field(ge=1, le=2**63 - 1)]
    content_type: ContentType
    stage: Stage
    received_center_id: Identifier | None
    attached_by: ActorId
