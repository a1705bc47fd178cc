"""GET /metrics after a week of use: counts equal what happened (people's in steps of k), no
label names a team, round, rule, period or person, and nobody without the token reads it."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import httpx
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.scenario.conftest import EMPLOYEES, FixedClock, Stack, running_stack
from trustbot.db.models import Delivery, DeliveryKind, DeliveryStatus
from trustbot.metrics import ROUTES

TOKEN = "metrics-bearer-token-0123456789abcdef"
K = 3  # the stack's TRUSTBOT_MIN_GROUP_SIZE
STAFF = [f"U0STAFF{index:02d}" for index in range(1, 13)]
# Every label a metric may carry, and what its values may be: nothing else may appear.
ALLOWED: dict[str, re.Pattern[str]] = {
    "platform": re.compile(r"^(slack|teams)$"),
    "kind": re.compile(r"^(prompt|reminder|digest)$"),
    "reason": re.compile(r"^[a-z0-9_]{1,40}$"),
    "job": re.compile(r"^(prompt|reminder|digest|close)$"),
    "route": re.compile(rf"^({'|'.join(map(re.escape, sorted(ROUTES)))}|other)$"),
    "method": re.compile(r"^(GET|POST|HEAD|PUT|DELETE|OPTIONS|PATCH|other)$"),
    "status": re.compile(r"^(pending|sending|[1-5][0-9][0-9])$"),
    "le": re.compile(r"^([0-9.]+|\+Inf)$"),
}


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of the exposition by (name, sorted labels)."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(
    found: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


def stepped(count: int) -> int:
    return count - count % K


async def scrape(stack: Stack, token: str | None = TOKEN) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    transport = httpx.ASGITransport(app=stack.runtime.web_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://trustbot") as http:
        return await http.get("/metrics", headers=headers)


async def delivered(stack: Stack, kind: DeliveryKind, status: DeliveryStatus) -> int:
    return await stack.count_where(Delivery, Delivery.kind == kind, Delivery.status == status)


async def test_metrics_count_a_week_of_use_and_name_no_one(
    database_url: str, engine: AsyncEngine
) -> None:
    del engine  # an emptied database
    clock = FixedClock(datetime(2026, 11, 26, 10, 0, tzinfo=UTC), ticking=True)
    async with running_stack(
        database_url, clock, employees=STAFF, TRUSTBOT_METRICS_TOKEN=TOKEN
    ) as stack:
        stack.emulator.rate_limit_next("chat.postMessage")  # one 429, retried after 1 s
        await stack.prompt()
        sent_prompts = await delivered(stack, DeliveryKind.PROMPT, DeliveryStatus.SENT)
        assert sent_prompts == len(STAFF)

        answered = STAFF[:8]
        await stack.answer({user: 4 for user in answered})
        await stack.answer({answered[0]: 2})  # a changed score is stored again
        await stack.share_story(answered[1], "Lars fixed the build for everyone", "anonymous")
        stack.emulator.fail_next("chat.postMessage", "user_not_found")  # one reminder fails
        await stack.runtime.scheduler.fire("reminder")
        await stack.runtime.sender.drain()
        reminders = await stack.count_where(Delivery, Delivery.kind == DeliveryKind.REMINDER)
        assert reminders == len(STAFF) - len(answered)
        failed = await delivered(stack, DeliveryKind.REMINDER, DeliveryStatus.FAILED)
        assert failed == 1
        await stack.runtime.scheduler.start()  # it leads (SQLite: always)
        leading = samples((await scrape(stack)).text)
        await stack.runtime.scheduler.stop()
        registry = stack.services.metrics.registry
        await stack.emulator.wait_for(
            lambda: bool(registry.get_sample_value("trustbot_event_loop_lag_seconds_count")),
            what="a sample of the event loop's lag",
        )

        response = await scrape(stack)
        refused = await scrape(stack, token="metrics-bearer-token-0123456789abcdeX")
        anonymous = await scrape(stack, token=None)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert refused.status_code == anonymous.status_code == 401
    assert "trustbot_" not in refused.text + anonymous.text
    found = samples(response.text)

    # What happened, counted (people's rows in whole steps of k, rounded down).
    assert value(found, "trustbot_prompts_enqueued_total", platform="slack", kind="prompt") == (
        len(STAFF)  # 12, a whole number of steps: exact
    )
    assert value(found, "trustbot_prompts_sent_total", platform="slack", kind="prompt") == (
        stepped(sent_prompts)
    )
    assert value(found, "trustbot_prompts_enqueued_total", platform="slack", kind="reminder") == (
        stepped(reminders)
    )
    assert value(found, "trustbot_prompts_sent_total", platform="slack", kind="reminder") == (
        stepped(reminders - failed)
    )
    assert value(
        found,
        "trustbot_prompts_failed_total",
        platform="slack",
        kind="reminder",
        reason="user_not_found",
    ) == stepped(failed)
    assert value(found, "trustbot_answers_recorded_total", platform="slack") == (
        len(answered) + 1  # 9, exact
    )
    assert value(found, "trustbot_stories_recorded_total", platform="slack") == stepped(1)
    assert value(found, "trustbot_rate_limited_total", platform="slack") == 1
    assert value(found, "trustbot_job_runs_total", job="reminder") == 1
    assert value(found, "trustbot_job_failures_total", job="reminder") == 0
    assert value(leading, "trustbot_leader") == 1
    assert value(found, "trustbot_leader") == 0
    assert value(found, "trustbot_outbox_depth", status="pending") == 0
    assert value(found, "trustbot_outbox_oldest_waiting_seconds") == 0
    assert value(found, "trustbot_event_loop_lag_seconds_count") >= 1
    clicks = value(found, "trustbot_http_responses_total", route="/slack/events", status="200")
    assert clicks >= len(answered) + 1 + 2  # the clicks, the story's button and its submission
    assert (
        value(
            found,
            "trustbot_http_request_duration_seconds_count",
            route="/slack/events",
            method="POST",
        )
        == clicks
    )

    # No label names anyone or anything of the programme.
    for (name, labels), _ in found.items():
        for label, label_value in labels:
            assert label in ALLOWED, (name, label)
            assert ALLOWED[label].match(label_value), (name, label, label_value)
    assert not re.search(r"U0[A-Z0-9]+|\d{4}-W\d\d|C0TEAM|S0CREW|Lars", response.text)
    # 4 reminders queued show as 3, 1 failed as 0: a count is never finer than k.
    assert (reminders, failed) == (4, 1)


async def test_a_count_below_k_shows_as_zero_and_the_outbox_is_read_at_scrape(
    database_url: str, engine: AsyncEngine
) -> None:
    """Two answers of k = 3 show 0: one scrape to the next never tells a single answer; the
    queue's depth and its oldest row are read from the database when scraped."""
    del engine
    clock = FixedClock(datetime(2026, 11, 26, 10, 0, tzinfo=UTC), ticking=False)
    async with running_stack(database_url, clock, TRUSTBOT_METRICS_TOKEN=TOKEN) as stack:
        stack.services.metrics.answer_recorded("slack")
        stack.services.metrics.answer_recorded("slack")
        await stack.runtime.jobs.prompt(now=True)  # queued, not sent: nothing drains
        clock.now = clock.now.replace(minute=5)
        found = samples((await scrape(stack)).text)
        pending = await delivered(stack, DeliveryKind.PROMPT, DeliveryStatus.PENDING)

    assert value(found, "trustbot_answers_recorded_total", platform="slack") == 0
    assert pending == len(EMPLOYEES)
    assert value(found, "trustbot_outbox_depth", status="pending") == stepped(pending)
    assert value(found, "trustbot_outbox_oldest_waiting_seconds") == 300


async def test_metrics_are_not_served_on_the_public_port_without_a_token(
    database_url: str, engine: AsyncEngine
) -> None:
    del engine
    clock = FixedClock(datetime(2026, 11, 26, 10, 0, tzinfo=UTC), ticking=True)
    async with running_stack(database_url, clock) as stack:
        response = await scrape(stack)
        health = await scrape_path(stack, "/healthz")

    assert response.status_code == 404
    assert health.headers["x-request-id"]


async def scrape_path(stack: Stack, path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=stack.runtime.web_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://trustbot") as http:
        return await http.get(path)
