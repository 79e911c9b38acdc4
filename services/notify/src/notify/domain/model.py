"""Values of notify's core: the directory snapshot, the channel setup, delivery intents."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from contracts.notify import ChannelName, RecipientKind

#: Namespace of delivery ids: uuid5(DELIVERY_NS, "<event id>|<recipient id>|<channel>").
DELIVERY_NS = uuid.UUID("6b1f6f0e-8a53-5d8e-9c39-0d1b1a4e6e01")


#: Where the resident's verification code goes in a planned message. The code is a secret
#: (issue 18 #5): no event carries it, and the stored message (`deliveries.body`, shown by
#: `GET /v1/deliveries`) holds this slot; the dispatcher fills it in the text it hands the
#: channel, deriving the code with the shared secret (`contracts.verification`).
CODE_SLOT = "〔查询码：发送时填入〕"


def fill_code(text: str, code: str) -> str:
    return text.replace(CODE_SLOT, code)


def delivery_id(event_id: uuid.UUID | str, recipient_id: str, channel: str) -> uuid.UUID:
    """The id of one (event, recipient, channel) delivery. Deterministic, so the same triple
    gets the same id whoever computes it and however often: it is the idempotency key the
    webhook receiver and the SMS gateway deduplicate on."""
    return uuid.uuid5(DELIVERY_NS, f"{event_id}|{recipient_id}|{channel}")


def applicant_id(case_id: str) -> str:
    """Recipient id of a case's applicant. Residents have no account in notify; naming them
    by case keeps personal data (id numbers, phones) out of ids and published events."""
    return f"applicant:{case_id}"


@dataclass(frozen=True)
class CaseInfo:
    """What notify knows about a case, from intake's and routing's events.

    `applicant_name` is set once `intake.application_submitted` was seen: until then the
    applicant's contacts are unknown and resident messages wait (are parked).
    """

    case_id: str
    applicant_name: str | None = None
    phone: str | None = None
    email: str | None = None
    item_name_zh: str | None = None
    receipt_no: str | None = None
    accepting_center_id: str | None = None
    material_names: Mapping[str, str] = field(default_factory=dict)
    """Material code -> name from the item version the case was judged by."""

    @property
    def applicant_known(self) -> bool:
        return self.applicant_name is not None


@dataclass(frozen=True)
class StaffContact:
    staff_id: str
    name_zh: str
    unit_id: str | None = None
    email: str | None = None
    phone: str | None = None


@dataclass(frozen=True)
class Directory:
    """A snapshot of the directory for the ids one event names (loaded by the edge)."""

    cases: Mapping[str, CaseInfo] = field(default_factory=dict)
    staff: Mapping[str, StaffContact] = field(default_factory=dict)
    units: Mapping[str, str] = field(default_factory=dict)
    """Org unit id -> name (e.g. 马北社区便民服务中心)."""

    def case(self, case_id: str) -> CaseInfo:
        return self.cases.get(case_id) or CaseInfo(case_id)

    def unit_name(self, unit_id: str | None) -> str:
        """The unit's name; a generic "便民服务中心" while the org tree has not reached
        notify (never a raw id in a resident's message)."""
        if unit_id is None:
            return "便民服务中心"
        return self.units.get(unit_id, "便民服务中心")


@dataclass(frozen=True)
class ChannelSetup:
    """Which channels this deployment has: e-mail needs an SMTP server, SMS a gateway, a
    webhook its URL (one for residents' app, one for staff's work platform)."""

    email: bool = False
    sms: bool = False
    resident_webhook: str | None = None
    staff_webhook: str | None = None
    sms_signature: str = "【瑞安便民服务】"


@dataclass(frozen=True)
class DeliveryIntent:
    """One message to send: recorded before anything is sent (ARCHITECTURE §4)."""

    delivery_id: uuid.UUID
    recipient_id: str
    recipient_kind: RecipientKind
    channel: ChannelName
    address: str
    """Phone number, e-mail address or webhook URL, as known when planned."""
    template: str
    subject: str
    body: str
    data: Mapping[str, Any]
    """Structured fields of the message (sent in the webhook body)."""
    due_at: datetime
    deferred: bool = False
    """True when quiet hours moved `due_at` past the planning time."""


@dataclass(frozen=True)
class Plan:
    intents: tuple[DeliveryIntent, ...] = ()
    waiting_for: str | None = None
    """A directory key (`case:<id>` / `staff:<id>`) that must be known before planning:
    the edge parks the event and plans it again when that key arrives."""
