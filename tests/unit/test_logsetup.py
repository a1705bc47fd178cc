"""Secrets never reach a log line."""

from __future__ import annotations

import logging

import pytest

from tests.conftest import make_settings
from trustbot.logsetup import RedactSecrets, configure_logging


def test_configured_secrets_and_token_shapes_are_redacted() -> None:
    redact = RedactSecrets(["signing-secret-xyz"]).redact

    assert redact("secret signing-secret-xyz here") == "secret *** here"
    assert redact("token xoxb-123-456-abcDEF used") == "token *** used"
    assert redact("app xapp-1-A0-99-ff") == "app ***"
    assert redact("nothing to hide") == "nothing to hide"


def test_log_records_are_cleaned_before_any_handler_writes_them(
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = make_settings(SLACK_SIGNING_SECRET="very-secret-signing-value")
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    try:
        configure_logging(settings)
        logging.getLogger("trustbot.test").warning(
            "request with %s and %s", "very-secret-signing-value", "xoxb-test-token"
        )
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)

    err = capsys.readouterr().err
    assert "request with *** and ***" in err
    assert "very-secret-signing-value" not in err
    assert "xoxb-test-token" not in err


def test_request_lines_stay_out_even_when_a_library_resets_their_level(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Microsoft's SDK sets the httpx logger's level each time it builds a client; the URL it
    would log at INFO holds a Teams conversation id (an address), so it must stay out."""
    from microsoft_teams.common.http.client import Client

    settings = make_settings(TEAMS_CLIENT_SECRET="teams-client-secret-value")
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    httpx_log = logging.getLogger("httpx")
    saved_filters, saved_httpx_level = httpx_log.filters[:], httpx_log.level
    try:
        configure_logging(settings)
        Client()  # resets logging.getLogger("httpx") to the SDK's own level
        httpx_log.info('HTTP Request: POST http://x/v3/conversations/a:1secret/activities "201"')
        httpx_log.warning("httpx warns about %s", "teams-client-secret-value")
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
        httpx_log.filters[:] = saved_filters
        httpx_log.setLevel(saved_httpx_level)

    err = capsys.readouterr().err
    assert "a:1secret" not in err
    assert "httpx warns about ***" in err
