"""The intake app served by uvicorn on a real socket (`served`), for the tests whose client
must stream (httpx's ASGI transport collects a whole response) or speak plain HTTP/1.1 (the
load generator's own client)."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import suppress
from dataclasses import dataclass

import asyncpg
import pytest
import uvicorn

from devstack.topics import delete_topics, ensure_topics

from ...polling import eventually
from ..intake.support import Harness, running_intake


@dataclass
class Served:
    harness: Harness
    base_url: str


@pytest.fixture(scope="module")
async def served(infra) -> AsyncIterator[Served]:  # type: ignore[no-untyped-def]
    tag = uuid.uuid4().hex[:10]
    schema = f"t_docstream_{tag}"
    intake_topic, routing_topic = f"docstream_{tag}.events", f"docstream_routing_{tag}.events"
    made = await ensure_topics(infra.bootstrap, [intake_topic, routing_topic], partitions=1)
    conn = await asyncpg.connect(infra.database_url)
    await conn.execute(f'CREATE SCHEMA "{schema}"')
    await conn.close()
    try:
        async with running_intake(
            infra.database_url, schema, infra.bootstrap, intake_topic, routing_topic
        ) as h:
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
            # the app's lifespan already runs (running_intake): uvicorn only serves it
            server = uvicorn.Server(
                uvicorn.Config(h.app, lifespan="off", log_level="warning", access_log=False)
            )
            task = asyncio.create_task(server.serve(sockets=[sock]))
            try:

                async def started() -> bool:
                    return server.started

                await eventually(started, what="uvicorn to serve intake")
                yield Served(h, f"http://127.0.0.1:{port}")
            finally:
                server.should_exit = True
                with suppress(asyncio.CancelledError):
                    await task
                sock.close()
    finally:
        conn = await asyncpg.connect(infra.database_url)
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await conn.close()
        await delete_topics(infra.bootstrap, made)
