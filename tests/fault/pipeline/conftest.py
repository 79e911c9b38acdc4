"""The servers the pipeline fault tests own: a PostgreSQL cluster for the whole package (each
module starts the Kafka it breaks). See `harness` for why they are private."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .harness import PrivatePostgres


@pytest.fixture(scope="package")
def private_pg() -> Iterator[PrivatePostgres]:
    pg = PrivatePostgres.for_faults()
    pg.start()  # a cluster left running by an interrupted session is simply reused
    try:
        yield pg
    finally:
        pg.stop()
