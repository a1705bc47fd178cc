"""What `GET /metrics` shows: Prometheus metrics of one trustbot process.

Each process has its own registry (no import-time singleton): `Services.metrics`, made from the
settings. Recording is a counter's increment (no I/O, no lock but prometheus-client's own), so
the hot path pays next to nothing; the outbox's depth and its oldest waiting row are read when
Prometheus scrapes, with one aggregate query.

No label names a team, round, rule, period or person: labels are the platform, the message kind,
the job, the route, and a platform's error code. And a count of people's rows (prompts queued,
sent or failed, answers and stories recorded, the outbox's depth) is published in whole steps of
TRUSTBOT_MIN_GROUP_SIZE (k), rounded down: a reminder queue is the number of those who had not
answered yet, and an answer counter read through an open week would tell how many answered, both
of which the reports keep to bands of k or hide; in steps of k no scrape tells one person's
answer, reminder or pause apart from k − 1 others (docs/privacy.md).
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter as Tally
from collections.abc import Iterator
from datetime import datetime

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from trustbot.db.models import Delivery, DeliveryStatus

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# The routes a latency is recorded under; any other path counts as "other" (a path is never a
# label: a scanner's made-up paths would make a series each).
ROUTES = frozenset({"/slack/events", "/api/messages", "/healthz", "/readyz", "/metrics"})
LAG_INTERVAL_S = 0.25  # how often the event loop's lag is sampled
_REASON = re.compile(r"[^a-z0-9_]+")


def reason_label(reason: str) -> str:
    """A delivery error's label: the platform's code ("channel_not_found", "ratelimited",
    "BotNotInConversationRoster"), lower-cased, without anything after a colon (the exception
    type of "connection: ClientOSError" goes), at most 40 characters."""
    code = _REASON.sub("_", reason.split(":", 1)[0].strip().lower()).strip("_")
    return code[:40] or "unknown"


class _PeopleCounts(Collector):
    """Counts of people's rows, published in whole steps of k (rounded down)."""

    def __init__(self, step: int) -> None:
        self.step = max(1, step)
        # By label values, in the order of each family's labels.
        self.enqueued: Tally[tuple[str, ...]] = Tally()
        self.sent: Tally[tuple[str, ...]] = Tally()
        self.failed: Tally[tuple[str, ...]] = Tally()
        self.answers: Tally[tuple[str, ...]] = Tally()
        self.stories: Tally[tuple[str, ...]] = Tally()
        self.depth: dict[str, int] = {}

    def stepped(self, value: int) -> int:
        """`value` rounded down to a whole number of steps."""
        return value - value % self.step

    def collect(self) -> Iterator[Metric]:
        families: list[tuple[str, str, list[str], Tally[tuple[str, ...]]]] = [
            (
                "trustbot_prompts_enqueued",
                "Messages queued in the outbox, by platform and kind (in steps of k).",
                ["platform", "kind"],
                self.enqueued,
            ),
            (
                "trustbot_prompts_sent",
                "Messages the platform accepted, by platform and kind (in steps of k).",
                ["platform", "kind"],
                self.sent,
            ),
            (
                "trustbot_prompts_failed",
                "Messages given up on, by platform, kind and the platform's error code "
                "(in steps of k).",
                ["platform", "kind", "reason"],
                self.failed,
            ),
            (
                "trustbot_answers_recorded",
                "Scores stored (a changed score counts again), by platform (in steps of k).",
                ["platform"],
                self.answers,
            ),
            (
                "trustbot_stories_recorded",
                "Stories stored, by platform (in steps of k).",
                ["platform"],
                self.stories,
            ),
        ]
        for name, documentation, labels, tally in families:
            family = CounterMetricFamily(name, documentation, labels=labels)
            for key, value in sorted(tally.items()):
                family.add_metric(list(key), self.stepped(value))
            yield family
        depth = GaugeMetricFamily(
            "trustbot_outbox_depth",
            "Outbox rows waiting (pending) or being sent (sending), read at scrape "
            "(in steps of k).",
            labels=["status"],
        )
        for status, value in sorted(self.depth.items()):
            depth.add_metric([status], self.stepped(value))
        yield depth


class Metrics:
    """The metrics of one process; record with the small methods, expose with `exposition`."""

    def __init__(self, *, step: int = 1) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._people = _PeopleCounts(step)
        self.registry.register(self._people)
        registry = self.registry
        self.rate_limited = Counter(
            "trustbot_rate_limited",
            "Sends the platform answered with a rate limit (HTTP 429), by platform.",
            ["platform"],
            registry=registry,
        )
        self.job_runs = Counter(
            "trustbot_job_runs", "Scheduled job runs started, by job.", ["job"], registry=registry
        )
        self.job_failures = Counter(
            "trustbot_job_failures",
            "Scheduled job runs that ended in an error, by job.",
            ["job"],
            registry=registry,
        )
        self.leader = Gauge(
            "trustbot_leader",
            "1 while this process runs the scheduler (leads), else 0.",
            registry=registry,
        )
        self.oldest_waiting = Gauge(
            "trustbot_outbox_oldest_waiting_seconds",
            "How long the oldest due outbox row has waited to be sent, read at scrape.",
            registry=registry,
        )
        self.loop_lag = Histogram(
            "trustbot_event_loop_lag_seconds",
            "How late the event loop ran a timer (sampled every 0.25 s).",
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
            registry=registry,
        )
        self.request_seconds = Histogram(
            "trustbot_http_request_duration_seconds",
            "Time to answer an HTTP request, by route and method.",
            ["route", "method"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
            registry=registry,
        )
        self.responses = Counter(
            "trustbot_http_responses",
            "HTTP responses, by route and status code.",
            ["route", "status"],
            registry=registry,
        )

    @property
    def step(self) -> int:
        """The step counts of people's rows are published in (k)."""
        return self._people.step

    # ------------------------------------------------------------------ recording

    def enqueued(self, platform: str, kind: str, count: int) -> None:
        """`count` messages of `kind` were queued for `platform`."""
        if count > 0:
            self._people.enqueued[(platform, kind)] += count

    def sent(self, platform: str, kind: str) -> None:
        """The platform accepted one message."""
        self._people.sent[(platform, kind)] += 1

    def failed(self, platform: str, kind: str, reason: str) -> None:
        """One message was given up on, for `reason` (a platform's error code)."""
        self._people.failed[(platform, kind, reason_label(reason))] += 1

    def answer_recorded(self, platform: str) -> None:
        """A score was stored (first or changed)."""
        self._people.answers[(platform,)] += 1

    def story_recorded(self, platform: str) -> None:
        """A story was stored."""
        self._people.stories[(platform,)] += 1

    def leading(self, leads: bool) -> None:
        """Whether this process runs the scheduler now."""
        self.leader.set(1 if leads else 0)

    def request(self, route: str, method: str, status: int, seconds: float) -> None:
        """One HTTP request answered."""
        label = route if route in ROUTES else "other"
        self.request_seconds.labels(label, method if method in _METHODS else "other").observe(
            seconds
        )
        self.responses.labels(label, str(status)).inc()

    # ------------------------------------------------------------------ exposing

    async def exposition(
        self, sessions: async_sessionmaker[AsyncSession] | None, now: datetime
    ) -> bytes:
        """The text Prometheus scrapes, with the outbox read now (one aggregate query)."""
        if sessions is not None:
            await self._read_outbox(sessions, now)
        return generate_latest(self.registry)

    async def _read_outbox(self, sessions: async_sessionmaker[AsyncSession], now: datetime) -> None:
        waiting = [DeliveryStatus.PENDING, DeliveryStatus.SENDING]
        due = func.min(Delivery.next_attempt_at).filter(
            Delivery.status == DeliveryStatus.PENDING, Delivery.next_attempt_at <= now
        )
        query = (
            select(Delivery.status, func.count(), due)
            .where(Delivery.status.in_(waiting))
            .group_by(Delivery.status)
        )
        async with sessions() as session:
            rows = (await session.execute(query)).all()
        depth = {status.value: 0 for status in waiting}
        oldest: datetime | None = None
        for status, count, earliest in rows:
            depth[DeliveryStatus(status).value] = int(count)
            if earliest is not None:
                oldest = earliest if oldest is None else min(oldest, earliest)
        self._people.depth = depth
        self.oldest_waiting.set(max(0.0, (now - oldest).total_seconds()) if oldest else 0.0)


_METHODS = frozenset({"GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH"})


async def watch_loop_lag(metrics: Metrics, interval: float = LAG_INTERVAL_S) -> None:
    """Sample how late the event loop runs a timer, until cancelled: a blocked loop shows here
    (and a click not acknowledged in Slack's 3 s)."""
    loop = asyncio.get_running_loop()
    while True:
        started = loop.time()
        await asyncio.sleep(interval)
        metrics.loop_lag.observe(max(0.0, loop.time() - started - interval))
