"""One supervisor for every long-lived task of a process: nothing in the background dies silently.

The outbox sender, the leader loop and the scheduler's catch-up run under it, and the scheduled
jobs report to it. An unexpected exception is logged with its traceback (frames only: the log
handler withholds every exception's message, which can quote a person's input), the task starts
again after a backoff (1 s, 2 s, 4 s ... up to a minute), and a task that failed
`UNHEALTHY_AFTER` times in a row (or a job that failed at every try within
TRUSTBOT_MISFIRE_GRACE) makes `/readyz` answer 503 with the reason, so that an orchestrator
takes the process out of service and replaces it. A task that then runs for `HEALTHY_AFTER_S`
without failing, or a job that succeeds, clears its reason.

Plain asyncio, not aiojobs: see docs/decisions.md ("One supervisor, in plain asyncio").
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

logger = logging.getLogger(__name__)

BACKOFF_BASE_S, BACKOFF_CAP_S = 1.0, 60.0
UNHEALTHY_AFTER = 3  # failures in a row
HEALTHY_AFTER_S = 60.0  # a restarted task that runs this long without failing is well again

Work = Callable[[], Awaitable[object]]


@dataclass(slots=True)
class _Trouble:
    failures: int
    reason: str
    unhealthy: bool


class Supervisor:
    """Runs tasks, restarts them when they fail, and says which keep failing."""

    def __init__(
        self,
        *,
        backoff_base_s: float = BACKOFF_BASE_S,
        backoff_cap_s: float = BACKOFF_CAP_S,
        unhealthy_after: int = UNHEALTHY_AFTER,
        healthy_after_s: float = HEALTHY_AFTER_S,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._backoff_base_s = backoff_base_s
        self._backoff_cap_s = backoff_cap_s
        self._unhealthy_after = unhealthy_after
        self._healthy_after_s = healthy_after_s
        self._monotonic = monotonic
        self._trouble: dict[str, _Trouble] = {}

    def problems(self) -> list[str]:
        """Why this process is not fit to serve: one line per task that keeps failing."""
        return [trouble.reason for trouble in self._trouble.values() if trouble.unhealthy]

    def backoff(self, failures: int) -> float:
        """How long to wait before the next try after `failures` failures in a row."""
        return float(min(self._backoff_cap_s, self._backoff_base_s * 2 ** max(failures - 1, 0)))

    def failed(self, name: str, error: BaseException, *, unhealthy: bool = False) -> int:
        """Record a failure of `name` (its type and where it was raised, never its message);
        how many in a row. `unhealthy` turns readiness red at once."""
        previous = self._trouble.get(name)
        failures = (previous.failures if previous else 0) + 1
        reason = f"{name} keeps failing ({failures} times in a row, last {_described(error)})"
        self._trouble[name] = _Trouble(
            failures, reason, unhealthy or failures >= self._unhealthy_after
        )
        return failures

    def recovered(self, name: str) -> None:
        """`name` works again: forget its failures."""
        if self._trouble.pop(name, None) is not None:
            logger.info("%s works again", name)

    async def run(self, name: str, work: Work, stop: asyncio.Event) -> None:
        """Run `work` until it returns or `stop` is set; start it again after each exception."""
        while not stop.is_set():
            task = asyncio.ensure_future(work())
            try:
                done, _ = await asyncio.wait({task}, timeout=self._healthy_after_s)
                if not done and name in self._trouble:
                    self.recovered(name)
                await task
            except asyncio.CancelledError:
                task.cancel()
                raise
            except Exception as error:
                failures = self.failed(name, error)
                delay = self.backoff(failures)
                logger.exception(
                    "%s failed (%d in a row); starting it again in %.0f s", name, failures, delay
                )
                if await wait_or_stop(stop, delay):
                    return
                continue
            self.recovered(name)
            return

    def spawn(self, name: str, work: Work, stop: asyncio.Event) -> asyncio.Task[None]:
        """`run` in a task of its own."""
        return asyncio.create_task(self.run(name, work, stop), name=name)


async def wait_or_stop(stop: asyncio.Event, seconds: float) -> bool:
    """Sleep up to `seconds`; True if `stop` was set meanwhile."""
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        return False
    return True


def _described(error: BaseException) -> str:
    """An exception's type and the file and line it was raised at (its message may quote input)."""
    frame = error.__traceback__
    while frame is not None and frame.tb_next is not None:
        frame = frame.tb_next
    where = (
        f" at {frame.tb_frame.f_code.co_filename.rsplit('/', 1)[-1]}:{frame.tb_lineno}"
        if frame is not None
        else ""
    )
    return f"{type(error).__name__}{where}"
