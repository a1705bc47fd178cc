"""create_slack_app: quiet about bolt's token-from-environment warning."""

from __future__ import annotations

import logging

import pytest

from tests.conftest import make_settings
from trustbot.app import open_runtime


async def test_no_token_unused_warning_when_slack_bot_token_is_in_the_environment(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test-token")
    async with open_runtime(make_settings(), prepare=False) as runtime:
        with caplog.at_level(logging.DEBUG):
            runtime.slack_app()

    assert "will be unused" not in caplog.text
