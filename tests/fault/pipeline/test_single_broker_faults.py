"""PostgreSQL restarted, then the Kafka broker restarted, under a steady load of cases
through the four services (real processes): no case lost, no effect applied twice, every
loop back to `ok` in `/readyz` without restarting a service; the recovery time is printed.

Both faults play on one fleet (it takes a while to start on a busy machine); each checks
only the cases of its own load. See `harness` for what is measured and how.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest

from bench.loadgen.session import LoadSession
from devstack.kafka import KafkaCluster

from .harness import FaultRun, PrivatePostgres, every_broker_answers, log_tails, private_kafka

pytestmark = [pytest.mark.fault, pytest.mark.timeout(600)]

PATIENCE_S = 120.0
"""How long the simulated clients ride out a 5xx (same Idempotency-Key, as a real client)."""


@pytest.fixture(scope="module")
def kafka() -> Iterator[KafkaCluster]:
    cluster = private_kafka()
    cluster.start()
    every_broker_answers(cluster)
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
async def session(private_pg: PrivatePostgres, kafka: KafkaCluster) -> AsyncIterator[LoadSession]:
    async with LoadSession(kafka.bootstrap, private_pg.database_url, patience_s=PATIENCE_S) as s:
        yield s


async def check(run: FaultRun, capsys: pytest.CaptureFixture[str]) -> None:
    verdict = await run.verdict()
    with capsys.disabled():
        print("\n" + verdict.render(), flush=True)
    problems = verdict.lost or verdict.driver_errors or verdict.applied_twice or verdict.restarted
    if problems or verdict.ready_s is None:
        print(log_tails(run.session))
    assert verdict.driver_errors == []
    assert verdict.lost == []
    assert verdict.applied_twice == 0, verdict.twice
    assert verdict.restarted == []
    assert verdict.ready_s is not None, "a loop did not come back to ok in /readyz"


async def test_postgres_restarted_under_load(
    session: LoadSession, private_pg: PrivatePostgres, capsys: pytest.CaptureFixture[str]
) -> None:
    run = FaultRun(session, "postgres restarted (pg_ctl restart -m fast)", seed=21)
    await run.play(lambda: asyncio.to_thread(private_pg.restart))
    await check(run, capsys)


async def test_kafka_restarted_under_load(
    session: LoadSession, kafka: KafkaCluster, capsys: pytest.CaptureFixture[str]
) -> None:
    node = kafka.nodes[0]

    async def restart() -> None:
        await asyncio.to_thread(kafka.stop_node, node)
        await asyncio.to_thread(kafka.start_node, node, 120.0)
        await asyncio.to_thread(every_broker_answers, kafka)

    run = FaultRun(session, "kafka broker stopped and started again", seed=22)
    await run.play(restart)
    await check(run, capsys)
