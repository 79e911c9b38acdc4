"""Attaching a document to a case: a stored scan or photo of one of its materials.

Taken while the case is at the front door: with the application (submitted or accepted),
after the one-time notice (awaiting materials) and as the correction (补正) asked for; the
event says which (`stage`). The material must be on the case's own list (the catalog version
it was submitted under). The same bytes attached to the same material again change nothing
(a retried upload is not recorded twice)."""

from __future__ import annotations

import hashlib

from contracts.base import DomainEvent
from contracts.documents import CONTENT_TYPES, DocumentAttached, Stage
from contracts.limits import MAX_CASE_DOCUMENT_BYTES, MAX_CASE_DOCUMENTS, MAX_DOCUMENT_BYTES

from .application_commands import AttachDocument
from .checks import check_org
from .errors import InvalidField, MaterialNotInList, WrongStatus
from .state import ApplicationState, submission_of

STAGE_OF: dict[str, Stage] = {
    "submitted": "intake",
    "accepted": "intake",
    "awaiting_materials": "supplement",
    "correction_requested": "correction",
}


def document_id(case_id: str, material_code: str, sha256: str) -> str:
    """One attachment's id: the same bytes for the same material of the same case are the
    same attachment (so a retry is recognised)."""
    digest = hashlib.sha256(f"{case_id}\n{material_code}\n{sha256}".encode()).hexdigest()
    return f"doc-{digest[:32]}"


def decide_attach(cmd: AttachDocument, state: ApplicationState) -> list[DomainEvent]:
    sub = submission_of(state)
    stage = STAGE_OF.get(state.status)
    if stage is None:
        raise WrongStatus(
            "status",
            f"the case is {state.status}; documents are taken with the application, the "
            "supplement or the correction, before the decision",
        )
    codes = {m.code for m in sub.required_materials}
    if cmd.material_code not in codes:
        raise MaterialNotInList(
            "material_code",
            f"{cmd.material_code} is not in this item's material list ({', '.join(sorted(codes))})",
        )
    if cmd.content_type not in CONTENT_TYPES:
        raise InvalidField("content_type", f"{cmd.content_type} is not a PDF, JPEG or PNG")
    if not 0 < cmd.size <= MAX_DOCUMENT_BYTES:
        raise InvalidField("size", f"a document is 1..{MAX_DOCUMENT_BYTES} bytes")
    if cmd.received_center_id is not None:
        check_org("received_center_id", cmd.received_center_id)
    if cmd.document_id != document_id(sub.case_id, cmd.material_code, cmd.sha256):
        raise InvalidField("document_id", "does not name this material's bytes")
    if any(d.document_id == cmd.document_id for d in state.documents):
        return []
    if len(state.documents) >= MAX_CASE_DOCUMENTS:
        raise InvalidField("documents", f"a case holds at most {MAX_CASE_DOCUMENTS} documents")
    if sum(d.size for d in state.documents) + cmd.size > MAX_CASE_DOCUMENT_BYTES:
        raise InvalidField(
            "documents", f"a case's documents hold at most {MAX_CASE_DOCUMENT_BYTES} bytes"
        )
    return [
        DocumentAttached(
            case_id=sub.case_id,
            document_id=cmd.document_id,
            material_code=cmd.material_code,
            sha256=cmd.sha256,
            size=cmd.size,
            content_type=cmd.content_type,  # type: ignore[arg-type]
            stage=stage,
            received_center_id=cmd.received_center_id,
            attached_by=cmd.actor.id,
        )
    ]
