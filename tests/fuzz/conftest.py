"""Shows the fuzz run's summary (seeds, and per service: operations, requests, 5xx, schema
violations) at the end of every pytest run that ran it, passed or failed."""

from __future__ import annotations

import pytest

SUMMARY: list[str] = []


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if SUMMARY:
        terminalreporter.section("schemathesis")
        for line in SUMMARY:
            terminalreporter.write_line(line)
