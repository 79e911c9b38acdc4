"""The public board's answers, kept per signed checkpoint (issue 18 #6).

The board is public and unauthenticated: a full aggregate over `board_cases` per request
would let anyone keep the database busy. Its figures are published as of a checkpoint, so
each answer (per endpoint and query) is computed once per checkpoint and served from memory
until the next checkpoint is signed: the caller names the newest checkpoint (its size, a
primary key lookup; and how far the projection has reached into it), so a new checkpoint,
signed by this process or another replica, starts afresh.
Concurrent requests for the same answer wait for one computation. At most `max_entries`
answers are kept (the least recently used go first).
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Any

DEFAULT_MAX_ENTRIES = 256


class BoardCache:
    def __init__(self, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        self.max_entries = max_entries
        self.checkpoint: Hashable = None
        self._answers: OrderedDict[Hashable, asyncio.Future[Any]] = OrderedDict()
        self.computed = 0
        """How many answers were computed (the rest were served from memory)."""

    async def answer(
        self, checkpoint: Hashable, key: Hashable, compute: Callable[[], Awaitable[Any]]
    ) -> Any:
        if checkpoint != self.checkpoint:  # a new checkpoint was signed: start afresh
            self._answers.clear()
            self.checkpoint = checkpoint
        found = self._answers.get(key)
        if found is not None:
            self._answers.move_to_end(key)
            return await asyncio.shield(found)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._answers[key] = future
        while len(self._answers) > self.max_entries:
            self._answers.popitem(last=False)
        try:
            self.computed += 1
            value = await compute()
        except BaseException as exc:
            if self._answers.get(key) is future:
                del self._answers[key]  # an error is not an answer: the next caller tries again
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" warning if nobody waits
            raise
        future.set_result(value)
        return value
