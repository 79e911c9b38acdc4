"""Rich progress bars with rate and ETA on stderr (stdout stays for the command's answer)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.progress import Progress as RichProgress
from rich.text import Text


class RateColumn(ProgressColumn):
    """Events per second over the task so far."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        if speed is None:
            return Text("      - ev/s", style="progress.data.speed")
        return Text(f"{speed:>10,.0f} ev/s", style="progress.data.speed")


class Progress:
    """`with progress.task("reading", total) as advance: advance(n)`; quiet prints nothing."""

    def __init__(self, *, quiet: bool = False, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True)
        self.quiet = quiet
        self._rich = RichProgress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description:<20}"),
            BarColumn(),
            MofNCompleteColumn(),
            RateColumn(),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=self.console,
            disable=quiet,
            refresh_per_second=5,
        )

    def __enter__(self) -> Progress:
        self._rich.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._rich.stop()

    @contextlib.contextmanager
    def task(self, description: str, total: int | None) -> Iterator[Callable[[int], None]]:
        task_id = self._rich.add_task(description, total=total)

        def advance(n: int) -> None:
            self._rich.advance(task_id, n)

        try:
            yield advance
        finally:
            t = self._rich.tasks[task_id]
            if t.total is None:
                self._rich.update(task_id, total=1, completed=1)
            self._rich.stop_task(task_id)

    def log(self, message: str) -> None:
        if not self.quiet:
            self.console.print(message)
