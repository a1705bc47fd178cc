"""JSON and text log lines, the request id, and the metrics' own rules (steps of k, labels)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from tests.conftest import make_settings
from trustbot.config import SettingsError
from trustbot.logsetup import REQUEST_ID, configure_logging, log_format
from trustbot.metrics import Metrics, reason_label

SECRET = 'signing"secret\\value-0123'  # a quote and a backslash: escaped inside JSON


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    yield
    root.handlers[:] = saved_handlers
    root.setLevel(saved_level)


def _log_one_of_each() -> None:
    log = logging.getLogger("trustbot.observe")
    token = REQUEST_ID.set("0123456789abcdef")
    try:
        log.warning("saw %s and %s", SECRET, "xoxb-1-2-secret", extra={"user": "U0SECRET"})
        story = "Astrid " + "wrote this story"  # what an exception's message may quote
        try:
            raise ValueError(story)
        except ValueError:
            log.exception("a listener failed")
    finally:
        REQUEST_ID.reset(token)
    log.info("outside any request")


@pytest.mark.usefixtures("restore_logging")
def test_json_lines_hold_only_their_fields_redacted(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(make_settings(TRUSTBOT_LOG_FORMAT="json", TEAMS_CLIENT_SECRET=SECRET))
    _log_one_of_each()

    lines = capsys.readouterr().err.strip().splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["request_id"] for r in records] == ["0123456789abcdef", "0123456789abcdef", "-"]
    assert set(records[0]) == {"timestamp", "level", "logger", "request_id", "message"}
    assert records[0]["message"] == "saw *** and ***"
    assert records[1]["exc_info"].endswith("builtins.ValueError: [withheld]")
    for leaked in ("signing", "xoxb-1-2", "U0SECRET", "Astrid wrote"):
        assert leaked not in "\n".join(lines)


@pytest.mark.usefixtures("restore_logging")
def test_the_text_format_names_the_request(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(make_settings(TRUSTBOT_LOG_FORMAT="text", TEAMS_CLIENT_SECRET=SECRET))
    _log_one_of_each()

    lines = capsys.readouterr().err.strip().splitlines()
    assert lines[0].endswith("WARNING trustbot.observe [0123456789abcdef]: saw *** and ***")
    assert "xoxb-1-2" not in lines[0]
    assert lines[-1].endswith("trustbot.observe [-]: outside any request")
    assert "Astrid wrote" not in "\n".join(lines)


def test_the_log_format_defaults_to_json_unless_on_a_terminal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("sys.stderr.isatty", lambda: False)
    assert log_format(make_settings()) == "json"
    monkeypatch.setattr("sys.stderr.isatty", lambda: True)
    assert log_format(make_settings()) == "text"
    assert log_format(make_settings(TRUSTBOT_LOG_FORMAT="json")) == "json"


@pytest.mark.parametrize(
    ("overrides", "line"),
    [
        ({"TRUSTBOT_LOG_FORMAT": "yaml"}, "TRUSTBOT_LOG_FORMAT: Input should be 'json' or 'text'"),
        ({"TRUSTBOT_METRICS_PORT": "3000"}, "TRUSTBOT_METRICS_PORT: 3000 is TRUSTBOT_PORT"),
        ({"TRUSTBOT_METRICS_TOKEN": "short-token"}, "TRUSTBOT_METRICS_TOKEN: must be at least 24"),
    ],
)
def test_observability_settings_are_checked(overrides: dict[str, str], line: str) -> None:
    with pytest.raises(SettingsError) as refused:
        make_settings(**overrides)

    assert len(refused.value.lines) == 1
    assert refused.value.lines[0].startswith(line)


def test_people_counts_move_in_whole_steps_of_k() -> None:
    metrics = Metrics(step=5)
    shown = []
    for _ in range(11):
        metrics.answer_recorded("slack")
        shown.append(
            metrics.registry.get_sample_value(
                "trustbot_answers_recorded_total", {"platform": "slack"}
            )
        )
    metrics.rate_limited.labels("slack").inc()

    assert shown == [0, 0, 0, 0, 5, 5, 5, 5, 5, 10, 10]
    assert (
        metrics.registry.get_sample_value("trustbot_rate_limited_total", {"platform": "slack"}) == 1
    )


@pytest.mark.parametrize(
    ("reason", "label"),
    [
        ("user_not_found", "user_not_found"),
        ("BotNotInConversationRoster", "botnotinconversationroster"),
        ("connection: ClientOSError", "connection"),
        ("internal error: KeyError", "internal_error"),
        ("", "unknown"),
        ("x" * 80, "x" * 40),
    ],
)
def test_a_failure_reason_is_a_short_code(reason: str, label: str) -> None:
    assert reason_label(reason) == label


def test_an_unknown_route_is_other_never_its_path() -> None:
    metrics = Metrics()
    metrics.request("/wp-admin/U0ABC", "PROPFIND", 404, 0.01)

    assert (
        metrics.registry.get_sample_value(
            "trustbot_http_responses_total", {"route": "other", "status": "404"}
        )
        == 1
    )
