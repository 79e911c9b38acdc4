"""Real Kafka and PostgreSQL for the whole suite, isolated per test.

Where the servers come from, in order (ARCHITECTURE §5):
1. `KAFKA_BOOTSTRAP_SERVERS` / `DATABASE_URL` when set;
2. testcontainers, when a Docker engine answers;
3. the project's own local processes (`devstack`: Maven-fetched Kafka, private PostgreSQL),
   started here if not already running and stopped at the end if this session started them.

Every test that needs them gets its own PostgreSQL schema and its own topic names, so tests
run in any order and never see each other's data. Unit tests touch none of this.
"""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field

import asyncpg
import pytest

logging.getLogger("aiokafka").setLevel(logging.ERROR)

# The suite runs development settings (development keys, drills, shifted clocks): it says so
# with the explicit flag (`eventkit.production`), which the stacks it starts inherit.
os.environ["BIANMIN_DEVELOPMENT"] = "1"


@dataclass
class Infra:
    bootstrap: str
    database_url: str  # a database where tests may create schemas
    source: str
    _stop: list[Callable[[], None]] = field(default_factory=list)


def _docker_answers() -> bool:
    if os.environ.get("BIANMIN_NO_DOCKER"):
        return False
    try:
        r = subprocess.run(
            ["docker", "info", "--format", "{{.ServerVersion}}"], capture_output=True, timeout=5
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return r.returncode == 0


def _start_infra() -> Infra:
    kafka_env = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    db_env = os.environ.get("DATABASE_URL")
    stops: list[Callable[[], None]] = []
    source = []
    bootstrap = kafka_env
    database_url = db_env
    if (bootstrap is None or database_url is None) and _docker_answers():
        from testcontainers.kafka import KafkaContainer  # type: ignore[import-untyped]
        from testcontainers.postgres import PostgresContainer  # type: ignore[import-untyped]

        if bootstrap is None:
            kc = KafkaContainer().with_kraft()
            kc.start()
            stops.append(kc.stop)
            bootstrap = kc.get_bootstrap_server()
            source.append("kafka=testcontainers")
        if database_url is None:
            pc = PostgresContainer("postgres:15", driver=None)
            pc.start()
            stops.append(pc.stop)
            database_url = pc.get_connection_url()
            source.append("postgres=testcontainers")
    if database_url is None:
        from devstack.postgres import TEST_DB, LocalPostgres

        pg = LocalPostgres.default()
        if pg.start():
            stops.append(pg.stop)
        database_url = pg.url(TEST_DB)
        source.append("postgres=local")
    elif db_env:
        source.append("postgres=env")
    if bootstrap is None:
        from devstack.kafka import KafkaCluster
        from devstack.kafka_users import use_admin

        # the local broker authenticates every client: the fixtures and the services the
        # tests build log in as its super user (tests of the ACLs use a service's user)
        use_admin()
        kafka = KafkaCluster.single()
        if kafka.start():
            stops.append(kafka.stop)
        bootstrap = kafka.bootstrap
        source.append("kafka=local")
    elif kafka_env:
        source.append("kafka=env")
    return Infra(bootstrap, database_url, ",".join(source), stops)


@pytest.fixture(scope="session")
def infra() -> Iterator[Infra]:
    inf = _start_infra()
    # The project's own topics, as `make run` creates them (tests that need isolation make
    # their own with the `topics` fixture).
    from contracts.topics import EVENT_TOPICS
    from devstack.topics import ensure_topics

    asyncio.run(ensure_topics(inf.bootstrap, list(EVENT_TOPICS)))
    yield inf
    from devstack.cli import pinned_marker

    if pinned_marker().exists():
        return  # `make infra-up` owns the stack (or took it over meanwhile): leave it running
    for stop in reversed(inf._stop):
        stop()


def pytest_report_header(config: pytest.Config) -> str:
    return "bianmin: integration tests use real Kafka and PostgreSQL (see tests/conftest.py)"


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


@dataclass
class PgSchema:
    database_url: str
    schema: str

    async def pool(self, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
        return await asyncpg.create_pool(
            self.database_url,
            min_size=min_size,
            max_size=max_size,
            server_settings={"search_path": self.schema},
        )

    async def connect(self) -> asyncpg.Connection:
        return await asyncpg.connect(
            self.database_url, server_settings={"search_path": self.schema}
        )


@pytest.fixture
async def pg_schema(infra: Infra) -> AsyncIterator[PgSchema]:
    """A fresh, empty schema in the test database, dropped afterwards."""
    schema = unique("t")
    conn = await asyncpg.connect(infra.database_url)
    try:
        await conn.execute(f'CREATE SCHEMA "{schema}"')
    finally:
        await conn.close()
    yield PgSchema(infra.database_url, schema)
    conn = await asyncpg.connect(infra.database_url)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


@pytest.fixture
async def eventkit_schema(pg_schema: PgSchema) -> PgSchema:
    """A fresh schema with eventkit's tables migrated in."""
    from eventkit import migrate

    conn = await pg_schema.connect()
    try:
        await migrate.apply(conn, migrate.eventkit_migrations())
    finally:
        await conn.close()
    return pg_schema


@pytest.fixture
async def topics(infra: Infra) -> AsyncIterator[Callable[..., asyncio.Future[list[str]]]]:
    """Factory: `names = await topics("intake.events", partitions=3)` gives unique topics
    (each with its `.dlq`), deleted after the test."""
    from devstack.topics import delete_topics, ensure_topics

    made: list[str] = []

    async def make(*bases: str, partitions: int = 3) -> list[str]:
        names = [unique(b.replace(".", "_")) + ".events" for b in bases]
        made.extend(await ensure_topics(infra.bootstrap, names, partitions))
        return names

    yield make  # type: ignore[misc]
    if made:
        await delete_topics(infra.bootstrap, made)
