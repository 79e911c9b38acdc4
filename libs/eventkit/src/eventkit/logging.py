"""JSON structured logs, one object per line, so the four services' output can be grepped."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson

_RESERVED = set(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime", "color_message"}


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for k, v in record.__dict__.items():
            if k not in _RESERVED and not k.startswith("_"):
                out[k] = v
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(out, default=str).decode()


class StartupNoise(logging.Filter):
    """Demote what every start is expected to print, so that an error line means an error.

    While the broker elects the group coordinator (the first seconds after it starts, or
    after it restarts), aiokafka logs each retried lookup at error level; those retries are
    normal for `startup_s` seconds and only a warning after that (a loop that cannot get
    going shows it in `/readyz`). FastStream warns at every start that topic auto-creation is
    off: the project creates its topics up front, and a missing topic fails start-up clearly.
    """

    COORDINATOR = ("CoordinatorNotAvailable", "NotCoordinator")

    def __init__(self, startup_s: float = 60.0, clock: Callable[[], float] = time.monotonic):
        super().__init__()
        self.clock = clock
        self.until = clock() + startup_s

    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        if record.name.startswith("aiokafka") and (
            (
                msg.startswith("Group Coordinator Request failed")
                and any(c in msg for c in self.COORDINATOR)
            )
            or msg.startswith("Marking the coordinator dead")
        ):
            level = logging.INFO if self.clock() < self.until else logging.WARNING
            self._demote(record, level)
        elif msg.startswith("Auto create topics is disabled"):
            self._demote(record, logging.INFO)
        return True

    @staticmethod
    def _demote(record: logging.LogRecord, level: int) -> None:
        if level < record.levelno:
            record.levelno, record.levelname = level, logging.getLevelName(level)


def configure(service: str, level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter(service))
    handler.addFilter(StartupNoise())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # one line per request or poll at INFO (httpx: every call to another service's API)
    for noisy in ("aiokafka", "uvicorn.access", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        lg = logging.getLogger(name)
        lg.handlers[:] = []
        lg.propagate = True
