"""Retry-After: delta-seconds (whole or fractional) and HTTP dates, read in one place."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from trustbot.delivery.retry_after import (
    DEFAULT_RETRY_AFTER_S,
    MAX_RETRY_AFTER_S,
    parse_retry_after,
    rate_limited,
)

NOW = datetime(2026, 12, 7, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("30", 30.0),
        ("1.5", 1.5),
        (" 2 ", 2.0),
        ("0", 0.0),
        ("Mon, 07 Dec 2026 12:00:45 GMT", 45.0),  # IMF-fixdate
        ("Monday, 07-Dec-26 12:01:00 GMT", 60.0),  # obsolete RFC 850
        ("Mon Dec  7 12:00:10 2026", 10.0),  # obsolete asctime
        ("Mon, 07 Dec 2026 11:59:00 GMT", 0.0),  # already past: go now
        ("-5", 0.0),
        ("Thu, 01 Jan 2099 00:00:00 GMT", MAX_RETRY_AFTER_S),
        ("999999", MAX_RETRY_AFTER_S),
        (None, DEFAULT_RETRY_AFTER_S),
        ("", DEFAULT_RETRY_AFTER_S),
        ("soon", DEFAULT_RETRY_AFTER_S),
        ("nan", DEFAULT_RETRY_AFTER_S),
        ("inf", DEFAULT_RETRY_AFTER_S),
        ("Mon, 32 Dec 2026 12:00:00 GMT", DEFAULT_RETRY_AFTER_S),
    ],
)
def test_retry_after_is_read_as_seconds_or_a_date(header: str | None, seconds: float) -> None:
    assert parse_retry_after(header, now=NOW) == pytest.approx(seconds)


def test_a_429_waits_what_the_platform_asked() -> None:
    error = rate_limited("1.5", now=NOW)
    assert (error.reason, error.retry_after, error.permanent) == ("ratelimited", 1.5, False)


@pytest.mark.parametrize("header", ["1.5", "Mon, 07 Dec 2099 12:00:45 GMT"])
async def test_both_platforms_read_retry_after_the_same_way(header: str) -> None:
    import httpx
    from slack_sdk.errors import SlackApiError
    from slack_sdk.web.async_slack_response import AsyncSlackResponse

    from trustbot.slack.notifier import _delivery_error as slack_error
    from trustbot.teams.notifier import TeamsNotifier

    slack_response = AsyncSlackResponse(
        client=None,
        http_verb="POST",
        api_url="http://localhost/api/chat.postMessage",
        req_args={},
        data={"ok": False, "error": "ratelimited"},
        headers={"Retry-After": header},
        status_code=429,
    )
    from_slack = slack_error(SlackApiError("ratelimited", slack_response))  # type: ignore[no-untyped-call]
    request = httpx.Request("POST", "http://localhost/v3/conversations/a/activities")
    teams_response = httpx.Response(429, headers={"Retry-After": header}, request=request)
    notifier = object.__new__(TeamsNotifier)  # a 429 touches none of its state
    from_teams = await notifier._delivery_error(
        httpx.HTTPStatusError("429", request=request, response=teams_response), None
    )
    expected = parse_retry_after(header)
    assert expected > 1.0  # not the old fallback for anything but whole seconds
    for error in (from_slack, from_teams):
        assert error.reason == "ratelimited"
        assert error.retry_after == pytest.approx(expected, abs=1.0)
