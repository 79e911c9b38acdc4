"""Checking a verification code under `intake.domain.code_guessing`'s throttle.

    outcome = await check_code(conn, policy, guesser="addr:203.0.113.7", case_key=case_id,
                               right=lambda: verify(case_id, code, secret))

One transaction per check, holding two advisory locks (the guesser's, then the case's,
always in that order): concurrent guesses are counted one after the other, so firing many
requests at once gets no more checks than sending them in turn. A wrong code is recorded
on the guesser, the guesser-and-case pair and the case; a right one changes nothing. The
caller answers a refusal with 429 and `Retry-After`, and never says whether a case exists
(`case_key` is the case id when the receipt is known, else what was asked for).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from ..domain.code_guessing import Counter, Counters, GuessPolicy, Verdict, judge


@dataclass(frozen=True)
class CodeCheck:
    right: bool
    refused: Verdict | None = None


async def check_code(
    conn: asyncpg.Connection,
    policy: GuessPolicy,
    *,
    guesser: str,
    case_key: str,
    right: Callable[[], bool],
) -> CodeCheck:
    buckets = {
        "client": f"guesser:{guesser}",
        "pair": f"pair:{guesser}|{case_key}",
        "case": f"case:{case_key}",
    }
    async with conn.transaction():
        await conn.execute(
            "SELECT pg_advisory_xact_lock(hashtext($1)), pg_advisory_xact_lock(hashtext($2))",
            buckets["client"],
            buckets["case"],
        )
        now: datetime = await conn.fetchval("SELECT now()")
        rows = {
            r["bucket"]: r
            for r in await conn.fetch(
                "SELECT * FROM verification_guesses WHERE bucket = ANY($1::text[])",
                list(buckets.values()),
            )
        }

        def counter(name: str) -> Counter:
            row = rows.get(buckets[name])
            return Counter(row["failures"], row["window_start"]) if row else Counter()

        case_row = rows.get(buckets["case"])
        counters = Counters(
            client=counter("client"),
            pair=counter("pair"),
            case=counter("case"),
            next_check_at=case_row["next_check_at"] if case_row else None,
        )
        verdict = judge(policy, counters, now)
        if not verdict.check:
            return CodeCheck(right=False, refused=verdict)
        if verdict.paced:
            await _save(conn, buckets["case"], counters.case, now + policy.pace)
        if right():
            return CodeCheck(right=True)
        await _save(conn, buckets["client"], counters.client.plus_one(now, policy.window))
        await _save(conn, buckets["pair"], counters.pair.plus_one(now, policy.window))
        await _save(
            conn, buckets["case"], counters.case.plus_one(now, policy.case_window), keep_next=True
        )
    return CodeCheck(right=False)


async def _save(
    conn: asyncpg.Connection,
    bucket: str,
    c: Counter,
    next_check_at: datetime | None = None,
    *,
    keep_next: bool = False,
) -> None:
    await conn.execute(
        """INSERT INTO verification_guesses (bucket, failures, window_start, next_check_at)
           VALUES ($1, $2, $3, $4)
           ON CONFLICT (bucket) DO UPDATE SET failures = EXCLUDED.failures,
               window_start = EXCLUDED.window_start,
               next_check_at = CASE WHEN $5 THEN verification_guesses.next_check_at
                                    ELSE EXCLUDED.next_check_at END""",
        bucket,
        c.failures,
        c.window_start,
        next_check_at,
        keep_next,
    )
