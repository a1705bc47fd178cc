"""Work that runs after a platform has been answered, and per-key ordering of that work."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any

logger = logging.getLogger(__name__)

DEFAULT_CONCURRENCY = 64


def event_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's event loop where it is installed (not on Windows), else None: asyncio's own.

    uvicorn picks uvloop by itself only when it creates the loop; trustbot's commands create it,
    so they ask for it here. It makes each request's socket and timer work cheaper.
    """
    try:
        import uvloop  # optional: not installed on Windows
    except ImportError:
        return None
    return uvloop.new_event_loop


class BackgroundWork:
    """Runs coroutines after the ack: at most `limit` at once, tracked, drained at shutdown.

    The limit keeps a burst of clicks from asking the database pool for more connections than it
    has; the rest wait their turn in arrival order.
    """

    def __init__(self, *, limit: int = DEFAULT_CONCURRENCY) -> None:
        self._slots = asyncio.Semaphore(limit)
        self._tasks: set[asyncio.Task[None]] = set()

    def spawn(self, work: Coroutine[Any, Any, None], *, what: str) -> None:
        """Start `work`; an exception it raises is logged with `what`, never lost."""
        task = asyncio.create_task(self._run(work, what))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, work: Coroutine[Any, Any, None], what: str) -> None:
        async with self._slots:
            try:
                await work
            except Exception:
                logger.exception("%s failed", what)

    @property
    def pending(self) -> int:
        """How many pieces of work have not finished."""
        return len(self._tasks)

    async def drain(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109 - a shutdown budget
        """Wait for the work under way (at shutdown); cancel what is left after `timeout` s."""
        if not self._tasks:
            return
        _, late = await asyncio.wait(set(self._tasks), timeout=timeout)
        for task in late:
            task.cancel()
        if late:
            logger.warning("cancelled %d unfinished background tasks at shutdown", len(late))
            await asyncio.gather(*late, return_exceptions=True)


class KeyedLocks:
    """One asyncio lock per key, created on demand and dropped when nobody holds or awaits it."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        """Hold the lock of `key` for the block."""
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)

    def __len__(self) -> int:
        return len(self._locks)
