"""Events published by notify: what happened to each notification it was asked to deliver.

notify turns intake and routing events into messages for residents and staff. Each message
is one *delivery*: the triple (source event, recipient, channel), with a stable
`delivery_id` (a UUIDv5 of the triple) that is also the provider-side idempotency key sent
with webhooks (`X-Bianmin-Delivery-Id`) and to the SMS gateway.

The stream id of these events is the case id (`case-<hex>`), so a case's notifications sit
beside its other events in every consumer (audit, analysts) and are keyed like them on
Kafka. Only outcomes are published; the intent itself is notify's private table.

Payloads carry **no personal data**: no phone number, e-mail address or message text (the
text can contain names and materials); recipients are named by id (`applicant:<case_id>`
for the case's applicant, the staff id for staff). An error text has the recipient's
address replaced by `<recipient>` before it is published.
"""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime

from .base import DomainEvent, event

RecipientKind = Literal["resident", "staff"]
ChannelName = Literal["email", "sms", "webhook"]


class _Delivery(DomainEvent):
    delivery_id: str
    """UUIDv5 of (source event id, recipient id, channel): stable across retries and crashes."""
    case_id: str
    source_event_id: str
    source_event_type: str
    recipient_id: str
    recipient_kind: RecipientKind
    channel: ChannelName
    template: str
    """The template's name, e.g. `resident_receipt` (notify/templates/<name>.txt)."""


@event
class DeliveryDeferred(_Delivery):
    """Quiet hours (免打扰时段): an SMS to a resident at night waits for the morning."""

    event_type = "notify.delivery_deferred"

    deferred_until: AwareDatetime
    reason: Literal["quiet_hours"]
    deferred_by: str


@event
class Delivered(_Delivery):
    """The channel accepted the message (SMTP 250, webhook 2xx, SMS gateway accepted)."""

    event_type = "notify.delivered"

    attempts: int
    delivered_at: AwareDatetime
    provider_ref: str | None = None
    delivered_by: str


@event
class DeliveryFailed(_Delivery):
    """Given up: a permanent refusal (`permanent=True`: bad address, 4xx webhook answer,
    5xx SMTP reply) or retries exhausted (`permanent=False`)."""

    event_type = "notify.delivery_failed"

    attempts: int
    permanent: bool
    error: str
    failed_at: AwareDatetime
    failed_by: str


__all__ = [
    "ChannelName",
    "Delivered",
    "DeliveryDeferred",
    "DeliveryFailed",
    "RecipientKind",
]
