"""A relay as its own process, for kill -9 tests: `python relay_process.py DSN SCHEMA BOOTSTRAP
TOPIC`. Small batches and a slow linger keep it mid-batch most of the time."""

from __future__ import annotations

import asyncio
import sys

from eventkit.relay import OutboxRelay, RelaySettings


async def main() -> None:
    dsn, schema, bootstrap, topic = sys.argv[1:5]
    relay = OutboxRelay(
        dsn,
        bootstrap,
        topic,
        "crashy",
        schema=schema,
        settings=RelaySettings(batch_size=500, linger_ms=20),
    )
    await relay.run()


if __name__ == "__main__":
    asyncio.run(main())
