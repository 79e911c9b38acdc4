"""What a channel is given, and the two ways it can fail.

A sender either returns (the provider accepted the message; optionally its reference) or
raises: `PermanentFailure` when trying again cannot help (a refused address, a 4xx webhook
answer) and `TransientFailure` when it may (timeouts, 5xx, 4xx SMTP replies). Any other
exception is treated as transient by the dispatcher, so a bug costs retries, not messages.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol


class PermanentFailure(Exception):
    """The provider refused for good; the delivery is failed at once."""


class TransientFailure(Exception):
    """Worth another attempt after a backoff."""


@dataclass(frozen=True)
class Message:
    delivery_id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    case_id: str
    recipient_id: str
    recipient_kind: str
    channel: str
    address: str
    template: str
    subject: str
    body: str
    data: Mapping[str, Any]


class Sender(Protocol):
    async def send(self, message: Message, now: datetime) -> str | None:
        """Deliver or raise; return the provider's reference if it gives one."""
        ...

    async def close(self) -> None: ...
