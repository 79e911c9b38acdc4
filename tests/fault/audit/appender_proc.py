"""The audit appender + checkpointer as a separate process, for the kill -9 tests.

    python appender_proc.py --dsn ... --schema ... --bootstrap ... --topics a,b \\
        --signing-key PRIVATE+KEY+... --origin ... [--die-in-batch N] [--max-batch 200]

`--die-in-batch N` makes the process SIGKILL itself inside the N-th append transaction,
after its COPYs and before COMMIT: the worst moment. Without it, it runs until killed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal

import asyncpg

from audit.log.appender import Appender
from audit.log.checkpoint import Checkpointer
from audit.log.leaf import LeafBuilder, Redactor
from tlog.note import Signer


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dsn", required=True)
    ap.add_argument("--schema", required=True)
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--topics", required=True)
    ap.add_argument("--signing-key", required=True)
    ap.add_argument("--origin", required=True)
    ap.add_argument("--die-in-batch", type=int, default=None)
    ap.add_argument("--max-batch", type=int, default=200)
    args = ap.parse_args()

    batches = 0

    async def before_commit(conn: asyncpg.Connection, outcome: object) -> None:
        nonlocal batches
        batches += 1
        if args.die_in_batch is not None and batches >= args.die_in_batch:
            print(f"dying in batch {batches}", flush=True)
            os.kill(os.getpid(), signal.SIGKILL)

    builder = LeafBuilder(Redactor(["name", "id_number", "phone", "address", "household_no"]))
    appender = Appender(
        dsn=args.dsn,
        schema=args.schema,
        bootstrap=args.bootstrap,
        topics=args.topics.split(","),
        builder=builder,
        max_batch=args.max_batch,
        poll_ms=50,
        lease_retry_seconds=0.2,
        discovery_seconds=5,
        before_commit=before_commit,
    )
    pool = await asyncpg.create_pool(
        args.dsn, min_size=1, max_size=2, server_settings={"search_path": args.schema}
    )
    checkpointer = Checkpointer(pool, Signer.from_key(args.signing_key), args.origin, 150, 0.2)
    appender.on_commit.append(checkpointer.notify)
    print("ready", flush=True)
    await asyncio.gather(appender.run(), checkpointer.run())


if __name__ == "__main__":
    asyncio.run(main())
