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
