"""The module-wide stack of the lifecycle tests, and the services' logs on a failure."""

from __future__ import annotations

from collections.abc import AsyncIterator, Generator
from pathlib import Path

import pytest

from .stack import Stack, start_stack


@pytest.fixture(scope="module")
async def stack(infra, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:  # type: ignore[no-untyped-def]
    """intake, routing and notify as separate processes, shared by the module's tests."""
    workdir: Path = tmp_path_factory.mktemp("lifecycle")
    async with start_stack(infra, workdir) as s:
        yield s


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A failed test shows the tail of each service's log next to its traceback."""
    report = yield
    s = getattr(item, "funcargs", {}).get("stack")
    if call.when == "call" and report.failed and isinstance(s, Stack):
        for svc in s.services.values():
            report.sections.append((f"{svc.name} log (tail)", svc.log_tail(60)))
    return report
