"""User text never becomes Slack markup."""

from __future__ import annotations

import pytest

from trustbot.slack.markup import escape_mrkdwn


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("<!channel>", "&lt;!channel&gt;"),
        ("<!here>", "&lt;!here&gt;"),
        ("hi <@U123> there", "hi &lt;@U123&gt; there"),
        ("R&D", "R&amp;D"),
        ("&lt;", "&amp;lt;"),
        ("<!subteam^S1|@team>", "&lt;!subteam^S1|@team&gt;"),
    ],
)
def test_escape_mrkdwn_neutralises_mentions(raw: str, escaped: str) -> None:
    assert escape_mrkdwn(raw) == escaped
    assert "<" not in escape_mrkdwn(raw)
    assert ">" not in escape_mrkdwn(raw)


@pytest.mark.parametrize(
    "plain", ["plain text", "*bold* _it_ `code`", "æøå ÆØÅ 🎉", "line1\nline2", ""]
)
def test_escape_mrkdwn_leaves_other_text_alone(plain: str) -> None:
    assert escape_mrkdwn(plain) == plain
