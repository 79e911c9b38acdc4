"""The SMS gateway interface, and its development implementation (a JSON-lines file).

A production gateway (a carrier's or a cloud SMS API) implements `SmsGateway.send`, passing
`delivery_id` as its idempotency / out-id field where the API has one.

`FileSmsGateway` appends one JSON object per message to a file, under an exclusive
`flock`, and skips a delivery id already in the file: like a real gateway with an
idempotency key, a re-send after a crash produces no second line. Developers `tail -f`
the file; tests read it.
"""

from __future__ import annotations

import asyncio
import fcntl
import re
from datetime import datetime
from pathlib import Path
from typing import Protocol

import orjson

from .base import Message, PermanentFailure

PHONE = re.compile(r"^\+?[0-9]{6,15}$")


class SmsGateway(Protocol):
    async def send(self, delivery_id: str, phone: str, text: str, now: datetime) -> str | None:
        """Hand the text to the gateway; raise Permanent/TransientFailure if it refuses."""
        ...


class FileSmsGateway:
    def __init__(self, path: Path) -> None:
        self.path = path

    def _append(self, delivery_id: str, phone: str, text: str, now: datetime) -> str:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a+b") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                f.seek(0)
                needle = f'"delivery_id":"{delivery_id}"'.encode()
                for line in f:
                    if needle in line:
                        return f"duplicate:{delivery_id}"
                f.write(
                    orjson.dumps(
                        {
                            "delivery_id": delivery_id,
                            "to": phone,
                            "text": text,
                            "at": now.isoformat(),
                        },
                        option=orjson.OPT_SORT_KEYS,
                    )
                    + b"\n"
                )
                f.flush()
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)
        return f"file:{delivery_id}"

    async def send(self, delivery_id: str, phone: str, text: str, now: datetime) -> str | None:
        return await asyncio.to_thread(self._append, delivery_id, phone, text, now)


class SmsSender:
    """Adapts an `SmsGateway` to the dispatcher's `Sender`; refuses malformed numbers."""

    def __init__(self, gateway: SmsGateway) -> None:
        self.gateway = gateway

    async def send(self, message: Message, now: datetime) -> str | None:
        phone = message.address.replace(" ", "").replace("-", "")
        if not PHONE.match(phone):
            raise PermanentFailure("not a phone number")
        return await self.gateway.send(str(message.delivery_id), phone, message.body, now)

    async def close(self) -> None:
        return None
