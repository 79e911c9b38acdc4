"""The SMS gateway interface, and its development implementation (a JSON-lines file).

A production gateway (a carrier's or a cloud SMS API) implements `SmsGateway.send`, passing
`delivery_id` as its idempotency / out-id field where the API has one.

`FileSmsGateway` appends one JSON object per message to a file, under an exclusive
`flock`, and skips a delivery id already in the file (indexed in memory, see the class):
like a real gateway with an idempotency key, a re-send after a crash produces no second
line. Developers `tail -f` the file; tests read it.
"""

from __future__ import annotations

import asyncio
import fcntl
import re
import uuid
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, Protocol

import orjson

from .base import Message, PermanentFailure

PHONE = re.compile(r"^\+?[0-9]{6,15}$")


class SmsGateway(Protocol):
    async def send(self, delivery_id: str, phone: str, text: str, now: datetime) -> str | None:
        """Hand the text to the gateway; raise Permanent/TransientFailure if it refuses."""
        ...


class FileSmsGateway:
    """The file, plus an in-memory index of the delivery ids in it.

    The index is brought up to date under the lock by reading only the bytes appended since
    this instance last looked (by this or another process), so a message costs O(1) instead
    of a scan of the whole file, which made every send slower as the file grew (the hottest
    code of notify in the pipeline benchmark, bench/PIPELINE.md). A file that shrank
    (rotated, truncated) is indexed again from its start. The index keeps every id of the
    file, as 16 bytes when it is a UUID (delivery ids are): about 80 bytes per message."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._ids: set[bytes | str] = set()
        self._indexed_to = 0
        self._dir_ready = False

    def _catch_up(self, f: BinaryIO) -> None:
        end = f.seek(0, 2)
        if end < self._indexed_to:
            self._ids.clear()
            self._indexed_to = 0
        if end == self._indexed_to:
            return
        f.seek(self._indexed_to)
        for line in f:
            try:
                self._ids.add(_key(str(orjson.loads(line)["delivery_id"])))
            except (orjson.JSONDecodeError, KeyError, TypeError):
                continue  # not one of ours; a duplicate check cannot match it anyway
        self._indexed_to = end

    def _append(self, delivery_id: str, phone: str, text: str, now: datetime) -> str:
        if not self._dir_ready:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._dir_ready = True
        with self.path.open("a+b") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                self._catch_up(f)
                key = _key(delivery_id)
                if key in self._ids:
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
                self._ids.add(key)
                self._indexed_to = f.tell()
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)
        return f"file:{delivery_id}"

    async def send(self, delivery_id: str, phone: str, text: str, now: datetime) -> str | None:
        return await asyncio.to_thread(self._append, delivery_id, phone, text, now)


def _key(delivery_id: str) -> bytes | str:
    try:
        return uuid.UUID(delivery_id).bytes
    except ValueError:
        return delivery_id


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
