"""Slack's mrkdwn, from the outside in: user text must never become markup."""

from __future__ import annotations


def escape_mrkdwn(user_text: str) -> str:
    """Escape user text for Slack mrkdwn so <!channel>, <!here> and <@U…> cannot fire.

    Slack asks for exactly these three characters to be escaped, and nothing else.
    """
    return user_text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
