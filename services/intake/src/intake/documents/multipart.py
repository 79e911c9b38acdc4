"""A multipart/form-data body read as it arrives: parts as a flat stream of `PartStart`,
data chunks and `PartEnd`, never a whole file in memory (python-multipart's push parser,
fed from the request's stream; at most one network chunk is held at a time)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from python_multipart.multipart import MultipartParser, parse_options_header


class BadMultipart(ValueError):
    """The body is not multipart/form-data with a boundary."""


@dataclass
class PartStart:
    name: str
    filename: str | None


@dataclass
class PartEnd:
    pass


@dataclass
class _Collector:
    events: list[PartStart | PartEnd | bytes] = field(default_factory=list)
    header_field: bytearray = field(default_factory=bytearray)
    header_value: bytearray = field(default_factory=bytearray)
    headers: dict[bytes, bytes] = field(default_factory=dict)

    def on_part_begin(self) -> None:
        self.headers = {}

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def on_header_end(self) -> None:
        self.headers[bytes(self.header_field).lower()] = bytes(self.header_value)
        self.header_field.clear()
        self.header_value.clear()

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self.headers.get(b"content-disposition", b""))
        name = options.get(b"name", b"").decode("utf-8", "replace")
        raw = options.get(b"filename")
        filename = raw.decode("utf-8", "replace") if raw is not None else None
        self.events.append(PartStart(name=name, filename=filename))

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        self.events.append(bytes(data[start:end]))

    def on_part_end(self) -> None:
        self.events.append(PartEnd())


async def parts(
    content_type: str, body: AsyncIterator[bytes]
) -> AsyncIterator[PartStart | PartEnd | bytes]:
    """The parts of a multipart body, streamed."""
    kind, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        raise BadMultipart("the body must be multipart/form-data with a boundary")
    c = _Collector()
    parser = MultipartParser(
        boundary,
        {  # type: ignore[arg-type]
            "on_part_begin": c.on_part_begin,
            "on_header_field": c.on_header_field,
            "on_header_value": c.on_header_value,
            "on_header_end": c.on_header_end,
            "on_headers_finished": c.on_headers_finished,
            "on_part_data": c.on_part_data,
            "on_part_end": c.on_part_end,
        },
    )
    async for chunk in body:
        if not chunk:
            continue
        parser.write(chunk)
        events, c.events = c.events, []
        for e in events:
            yield e
    parser.finalize()
    for e in c.events:
        yield e
